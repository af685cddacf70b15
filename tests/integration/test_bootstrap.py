"""scripts/bootstrap: silent and successful when nothing is missing; without root it prints the
exact apt-get command for what is missing and exits non-zero, installing nothing."""
import os
import pwd
import subprocess

from lib import check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "bootstrap")


def test_nothing_missing_is_quiet(ctx):
    r = subprocess.run([SCRIPT, "build"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout == "" and r.stderr == "", r)


def test_not_root_prints_the_command_and_fails(ctx):
    if os.getuid() != 0:
        r = subprocess.run([SCRIPT, "build", "forestall-no-such-package"], capture_output=True,
                           text=True)
    else:
        nobody = pwd.getpwnam("nobody")
        r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                            "--clear-groups", SCRIPT, "build", "forestall-no-such-package"],
                           capture_output=True, text=True)
    check(r.returncode != 0, f"expected failure, got {r.returncode}: {r.stderr}")
    check("apt-get install -y --no-install-recommends forestall-no-such-package" in r.stderr,
          r.stderr)
    check("run as root" in r.stderr, r.stderr)
