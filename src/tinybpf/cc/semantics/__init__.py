"""Stage 3 of the C compiler: C types, layouts and constant expressions from the syntax tree."""
from __future__ import annotations

from tinybpf.cc.diagnostics import Diagnostics
from tinybpf.cc.semantics.declarations import TypeResolver
from tinybpf.cc.syntax import ast


def check_declarations(unit: ast.TranslationUnit, diagnostics: Diagnostics) -> TypeResolver:
    """Resolve every file-scope declaration (records laid out, enumerators and array sizes folded);
    raises ``CCError`` when one is wrong. Function bodies are the next stage's."""
    resolver = TypeResolver(diagnostics)
    for item in unit.items:
        if isinstance(item, ast.Declaration):
            resolver.declaration(item)
        elif isinstance(item, ast.FunctionDef):
            resolver.type_of(item.specs, item.declarator)
    diagnostics.check()
    return resolver
