"""Anonymisation: a separate key file, participant labels, detection, review, apply, export guard.

The workflow (CLI ``qualcode anonymise ...``, the TUI review screen and scripts share it)::

    from qualcode.study import Study
    from qualcode import anonymise

    study = Study.open("pain.qc")
    key = anonymise.open_key(study, "pain.key", create=True)   # never inside the study
    anonymise.register_csv(study, key, "register.csv")          # optional: relatives, places ...
    result = anonymise.scan(study, key)                          # candidates, stored in the key
    anonymise.review.accept(key, [1, 2, 3], reviewer="Amira")
    anonymise.apply(study, key)                                  # rewrite text, remap anchors
    anonymise.guard.check(study, "some export text")             # -> leaks (works without the key)

Modules: ``keyfile`` (the key's format), ``register`` (register and name matcher), ``rules``
(phones, e-mails, NHS numbers, postcodes, dates, URLs, ages), ``ner`` (spaCy, imported lazily),
``scan``, ``review``, ``labels``, ``remap`` (offset remapping), ``scrub``, ``apply``, ``guard``,
``check``. SQL lives in ``qualcode.store.anonymise``.

``scan`` and ``apply`` name both a public function of this package and a submodule. Importing a
submodule makes Python bind it as an attribute of its package, which would replace the function
(``anonymise.scan(...)`` -> "'module' object is not callable" after the first use). The package
therefore refuses to let a submodule replace one of its functions (``_Package``): the functions
stay what ``anonymise.scan`` and ``from qualcode.anonymise import scan`` give, and the modules
stay importable by their full names (``from qualcode.anonymise.scan import sync_participants``).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from qualcode.anonymise import guard, review  # light modules; spaCy is never imported here


def open_key(study, path, create: bool = False):
    from qualcode.anonymise.scan import open_key as _open

    return _open(study, path, create=create)


def scan(study, key, **options: Any):
    from qualcode.anonymise.scan import scan as _scan

    return _scan(study, key, **options)


def apply(study, key, **options: Any):
    from qualcode.anonymise.apply import apply as _apply

    return _apply(study, key, **options)


def register_csv(study, key, path) -> dict[str, int]:
    from qualcode.anonymise.register import import_csv
    from qualcode.store import anonymise as store

    return import_csv(key, path, {p["label"].lower(): p["guid"] for p in store.participants(study.db)})


def check_study(study, key=None) -> dict[str, Any]:
    from qualcode.anonymise.check import check_study as _check

    return _check(study, key)


class _Package(types.ModuleType):
    """This package's module type: a submodule import never rebinds a public function's name."""

    def __setattr__(self, name: str, value: Any) -> None:
        current = self.__dict__.get(name)
        if (isinstance(value, types.ModuleType) and isinstance(current, types.FunctionType)
                and current.__module__ == self.__name__):
            return  # the submodule stays in sys.modules under its full name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = ["apply", "check_study", "guard", "open_key", "register_csv", "review", "scan"]
