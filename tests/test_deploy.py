"""deploy/: the systemd unit passes ``systemd-analyze verify``, starts server.py with
flags server.py really has, keeps its data where the sandbox lets it write and its
secrets out of the unit; the environment file sets what the server reads; the
firewall lines open the unit's port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

import protocol
from lanchat.server.config import build_parser, config_from_args
from conftest import ROOT
from systemdunit import command_line, one, read_environment_file, read_unit

DEPLOY = os.path.join(ROOT, "deploy")
UNIT = os.path.join(DEPLOY, "lanchat.service")
ENV_EXAMPLE = os.path.join(DEPLOY, "lanchat.env.example")
INSTALLED_CODE = "/opt/lanchat"                 # where deploy/README.md installs it
INSTALLED_PYTHON = "/opt/lanchat/.venv/bin/python"
SPECIFIERS = {"S": "/var/lib", "n": "lanchat.service", "N": "lanchat"}  # system manager
MDNS_PORT = 5353


def unit_argv(path: str = UNIT) -> list:
    return command_line(one(read_unit(path), "Service", "ExecStart"), SPECIFIERS)


def server_args(path: str = UNIT):
    """The unit's ExecStart flags parsed by server.py's own parser."""
    argv = unit_argv(path)
    return build_parser().parse_args(argv[2:])


def installed_here(tmp_path) -> str:
    """A copy of the unit whose ExecStart points at this checkout and this Python (the
    paths must exist for ``systemd-analyze verify``)."""
    with open(UNIT, encoding="utf-8") as unit:
        text = unit.read()
    text = text.replace(INSTALLED_PYTHON, sys.executable).replace(INSTALLED_CODE, ROOT)
    copy = tmp_path / "lanchat.service"
    copy.write_text(text, encoding="utf-8")
    return str(copy)


def verify(path: str) -> list:
    """What ``systemd-analyze verify`` says about the unit at ``path`` (nothing: valid).

    It exits 0 for an unknown key or a misspelt value (it only warns), so every line
    that names the unit counts as a complaint, as does a non-zero exit."""
    done = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                          text=True, timeout=60, cwd=os.path.dirname(path))
    name = os.path.basename(path)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if name in line]
    if done.returncode != 0:
        complaints.append(f"exit code {done.returncode}: {done.stderr.strip()}")
    return complaints


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is missing (it comes with systemd: apt-get install systemd)")


@needs_systemd_analyze
def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    assert verify(installed_here(tmp_path)) == []


@needs_systemd_analyze
@pytest.mark.parametrize("good, bad", [
    ("ProtectHome=yes", "ProtectHomme=yes"),                       # unknown key
    ("SystemCallFilter=@system-service", "SystemCallFilter=@system-servce"),
    ("AF_UNIX AF_NETLINK", "AF_UNIX AF_NETLIMK"),                   # bad value
])
def test_verify_reports_a_mistake_in_the_unit(tmp_path, good, bad):
    # So the test above can fail: a typo in a hardening option is not silently ignored.
    path = installed_here(tmp_path)
    with open(path, encoding="utf-8") as unit:
        text = unit.read()
    assert good in text
    with open(path, "w", encoding="utf-8") as unit:
        unit.write(text.replace(good, bad, 1))
    assert verify(path) != []


@needs_systemd_analyze
def test_verify_reports_a_python_that_does_not_exist(tmp_path):
    path = installed_here(tmp_path)
    with open(path, encoding="utf-8") as unit:
        text = unit.read()
    with open(path, "w", encoding="utf-8") as unit:
        unit.write(re.sub(r"^ExecStart=\S+", "ExecStart=" + str(tmp_path / "no-python"),
                          text, flags=re.M))
    assert any("no-python" in line for line in verify(path))


def test_the_unit_runs_this_projects_server_py_with_the_installed_python():
    argv = unit_argv()
    assert argv[0] == INSTALLED_PYTHON
    assert argv[1] == INSTALLED_CODE + "/server.py"
    assert os.path.isfile(os.path.join(ROOT, "server.py"))


def test_the_units_flags_are_server_py_flags():
    try:
        args = server_args()
    except SystemExit:
        pytest.fail(f"server.py refuses the unit's flags {unit_argv()[2:]} (see stderr)")
    assert args.host == "0.0.0.0"
    assert args.tls_self_signed


def test_the_flag_check_refuses_a_flag_server_py_does_not_have(tmp_path, capsys):
    unit = tmp_path / "lanchat.service"
    with open(UNIT, encoding="utf-8") as original:
        unit.write_text(original.read().replace("--tls-self-signed", "--tls-self-sign3d"))
    with pytest.raises(SystemExit):
        server_args(str(unit))
    assert "--tls-self-sign3d" in capsys.readouterr().err


def test_the_history_is_in_the_state_directory_the_only_place_it_may_write():
    # ProtectSystem=strict makes everything else read-only: a --db elsewhere would fail.
    settings = read_unit(UNIT)
    state = "/var/lib/" + one(settings, "Service", "StateDirectory")
    db = server_args().db
    assert os.path.dirname(db) == state
    assert command_line(one(settings, "Service", "WorkingDirectory"), SPECIFIERS) == [state]
    assert one(settings, "Service", "ProtectSystem") == "strict"
    assert one(settings, "Service", "DynamicUser") == "yes"


def test_a_bad_flag_is_not_restarted_forever():
    # server.py exits 2 for a bad flag or an unusable --db: restarting cannot help.
    settings = read_unit(UNIT)
    assert one(settings, "Service", "Restart") == "on-failure"
    assert one(settings, "Service", "RestartPreventExitStatus") == "2"


def test_no_secret_is_in_the_unit_only_the_environment_file():
    settings = read_unit(UNIT)
    assert one(settings, "Service", "EnvironmentFile") == "-/etc/lanchat/lanchat.env"
    with open(UNIT, encoding="utf-8") as unit:
        active = [line for line in unit if not line.lstrip().startswith("#")]
    assert not any(re.search(r"CHAT_(ADMIN_)?PASSWORD|--password|--admin-password", line)
                   for line in active)


def test_the_environment_file_sets_exactly_what_the_server_reads(monkeypatch):
    example = read_environment_file(ENV_EXAMPLE)
    assert set(example) == {"CHAT_PASSWORD", "CHAT_ADMIN_PASSWORD"}
    # As shipped (empty values): no password, no admins.
    for key, value in example.items():
        monkeypatch.setenv(key, value)
    config = config_from_args(build_parser().parse_args([]))
    assert config.password is None and config.admin_password is None
    # Filled in: the server takes both.
    monkeypatch.setenv("CHAT_PASSWORD", "join-pw")
    monkeypatch.setenv("CHAT_ADMIN_PASSWORD", "admin-pw")
    config = config_from_args(build_parser().parse_args([]))
    assert (config.password, config.admin_password) == ("join-pw", "admin-pw")


def test_the_default_port_is_the_one_the_unit_gives():
    assert server_args().port == protocol.DEFAULT_PORT


def _firewall_text() -> str:
    with open(os.path.join(DEPLOY, "README.md"), encoding="utf-8") as readme:
        return readme.read()


def test_ufw_opens_tcp_and_udp_of_the_units_port_and_mdns():
    port = server_args().port
    ufw = set(re.findall(r"^sudo ufw allow (\S+)", _firewall_text(), re.M))
    assert {f"{port}/tcp", f"{port}/udp", f"{MDNS_PORT}/udp"} <= ufw


def test_firewalld_opens_tcp_and_udp_of_the_units_port_and_mdns():
    port = server_args().port
    lines = [line for line in _firewall_text().splitlines()
             if line.startswith("sudo firewall-cmd --permanent")]
    opened = set(re.findall(r"--add-port=(\S+)", " ".join(lines)))
    assert {f"{port}/tcp", f"{port}/udp"} <= opened
    assert "--add-service=mdns" in " ".join(lines)  # firewalld's service for UDP 5353
    assert any(line.strip() == "sudo firewall-cmd --reload"
               for line in _firewall_text().splitlines())


def test_windows_rules_open_tcp_and_udp_of_the_units_port_and_mdns():
    port = server_args().port
    rules = set(re.findall(r"^New-NetFirewallRule .*-Direction Inbound -Protocol (TCP|UDP) "
                           r"-LocalPort (\d+) -Action Allow", _firewall_text(), re.M))
    assert {("TCP", str(port)), ("UDP", str(port)), ("UDP", str(MDNS_PORT))} <= rules
