"""Stage 1 of the C compiler: C text -> expanded tokens (``preprocess``) or text (``-E``)."""
from __future__ import annotations

from tinybpf.cc.diagnostics import Diagnostics, SourceLines
from tinybpf.cc.preprocess.lexer import Token
from tinybpf.cc.preprocess.preprocessor import Options, Preprocessor
from tinybpf.cc.preprocess.text import preprocessed_text

__all__ = ["Options", "Token", "preprocess", "preprocess_to_text"]


def preprocess(text: str, path: str, options: Options, diagnostics: Diagnostics) -> list[Token]:
    """Every token of the translation unit after preprocessing; raises ``CCError`` on any error."""
    tokens = list(Preprocessor(options, diagnostics).run(text, path))
    diagnostics.check()
    return tokens


def preprocess_to_text(text: str, path: str, options: Options, line_markers: bool = True) -> tuple[str, Diagnostics]:
    """``cc -E``: the preprocessed text, and the diagnostics (warnings) of the run."""
    diagnostics = Diagnostics(SourceLines())
    return preprocessed_text(preprocess(text, path, options, diagnostics), line_markers), diagnostics
