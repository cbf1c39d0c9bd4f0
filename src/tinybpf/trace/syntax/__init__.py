"""Source text to AST: lexer, parser, macros, the standard library, positional parameters, includes and the
config block."""
