"""Cross-package tests: load the guide helpers (tests/guide.py) once, as ``liter_llm_guide_support``.

pytest runs in importlib mode, so test modules import shared helpers by this name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "liter_llm_guide_support"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("guide.py"))
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
