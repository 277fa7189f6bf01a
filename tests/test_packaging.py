"""The install is quiet: setup.cfg declares every folder it ships, so setuptools has nothing to
warn about ("Package 'bridge.migrations' is absent from the `packages` configuration", once per
data folder without an ``__init__.py``), and the editable install is a plain .pth line."""

from __future__ import annotations

import configparser

from setuptools import find_namespace_packages

from tests.support import ROOT


def _options() -> configparser.SectionProxy:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_every_folder_that_ships_is_a_declared_package():
    config = _options()
    assert config["options"]["packages"].strip() == "find_namespace:"
    found = config["options.packages.find"]
    packages = set(
        find_namespace_packages(
            where=str(ROOT), include=_lines(found["include"]), exclude=_lines(found["exclude"])
        )
    )
    folders = {
        ".".join(path.relative_to(ROOT).parts)
        for top in ("bridge", "schemas", "workers")
        for path in [ROOT / top, *(ROOT / top).rglob("*")]
        if path.is_dir() and path.name != "__pycache__" and any(path.iterdir())
    }
    assert folders == packages
    assert "bridge.migrations.versions" in packages and "bridge.templates" in packages


def test_the_flat_layout_is_spelled_out():
    # package_dir "" = . makes setuptools' editable install a .pth line (its "simple layout"),
    # instead of a meta path finder that warns "Editable installation ... be careful".
    assert _lines(_options()["options"]["package_dir"]) == ["= ."]


def test_data_files_are_declared():
    data = _lines(_options()["options.package_data"]["bridge"])
    for pattern in (
        "migrations/versions/*.py",
        "templates/*.html",
        "templates/**/*.html",
        "static/*",
    ):
        assert pattern in data, pattern
    assert (ROOT / "bridge" / "static" / "docs.js").exists()
