"""``wadule-bridge directory validate`` and ``import``: errors that name the place."""

from __future__ import annotations

import textwrap

from click.testing import CliRunner

from bridge.cli import cli
from tests.support import SAMPLE_DIRECTORY

BAD = textwrap.dedent(
    """\
    triage: diskominfo
    opds:
      - slug: diskominfo
        name: Diskominfo
        channels:
          - {kind: whatsapp_group, target: "120363000000000001@g.us"}
      - slug: dpupr
        name: Dinas PU
        responders: ["bukan nomor"]
        channels:
          - {kind: x, target: dpupr_pacitan, token_env: X_TOKEN}
          - {kind: pager, target: "123"}
    """
)
SSRF = textwrap.dedent(
    """\
    triage: diskominfo
    opds:
      - slug: diskominfo
        name: Diskominfo
        channels:
          - {kind: webhook, target: "http://127.0.0.1:18250\\\\@1.1.1.1/", secret_env: HOOK}
          - {kind: webhook, target: "http://10.0.0.7/hook", secret_env: HOOK}
    """
)


def validate(path, **env):
    return CliRunner().invoke(
        cli, ["directory", "validate", str(path)], env={"BRIDGE_SANDBOX": "1", **env}
    )


def test_the_sample_directory_is_valid():
    result = validate(SAMPLE_DIRECTORY)
    assert result.exit_code == 0, result.output
    assert "valid (17 OPDs" in result.output


def test_each_problem_names_its_place(tmp_path):
    path = tmp_path / "opds.yaml"
    path.write_text(BAD)
    result = validate(path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{path} is not a valid directory:"
    assert any(line.strip().startswith("opds[1].responders[0]: ") for line in lines)
    assert any(line.strip().startswith("opds[1].channels[0].secret_env: ") for line in lines)
    assert any(line.strip().startswith("opds[1].channels[1].kind: ") for line in lines)
    # Never Python's repr of a dict.
    assert "{" not in result.output


def test_webhook_targets_are_checked_like_every_send(tmp_path):
    path = tmp_path / "opds.yaml"
    path.write_text(SSRF)
    result = validate(path)
    assert result.exit_code == 1
    assert "opds[0].channels[0].target: " in result.output
    assert "opds[0].channels[1].target: webhook: target resolves to non-public address" in (
        result.output
    )
    # An operator who allows private targets gets the loopback one, never the smuggled one.
    allowed = validate(path, BRIDGE_ALLOW_PRIVATE_WEBHOOKS="1")
    assert allowed.exit_code == 1
    assert "opds[0].channels[0].target: " in allowed.output
    assert "channels[1]" not in allowed.output
