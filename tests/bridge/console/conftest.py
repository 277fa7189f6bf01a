"""Fixtures of the console tests: an operator account and a client logged in as it."""

from __future__ import annotations

import pytest

from bridge.db import new_session
from bridge.operators import create_operator
from tests.bridge.console.test_console import PASSWORD, login


@pytest.fixture
def operator(directory):
    with directory.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
    return "siti"


@pytest.fixture
def ops(client, operator):
    """A test client logged in as operator ``siti``."""
    assert login(client, operator, PASSWORD).status_code == 302
    return client
