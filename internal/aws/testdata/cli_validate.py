"""Run many AWS CLI commands in one Python process.

Reads a JSON list of argv lists on stdin, runs each through the installed
AWS CLI's own driver (the same code path as the `aws` command), and prints
one JSON object per command: {"rc": exit code, "stderr": what it printed}.
The endpoint is unreachable on purpose: a command whose parameters pass the
CLI's client-side validation fails with a connection error instead.
"""
import io
import json
import sys

from awscli.clidriver import create_clidriver

commands = json.load(sys.stdin)
out = sys.stdout
driver = create_clidriver()  # one driver: its loaded service models are reused
for argv in commands:
    err = io.StringIO()
    sys.stderr = err
    sys.stdout = io.StringIO()
    try:
        rc = driver.main(argv)
    except SystemExit as e:  # argparse errors exit
        rc = e.code if isinstance(e.code, int) else 2
    finally:
        sys.stderr = sys.__stderr__
        sys.stdout = out
    out.write(json.dumps({"rc": rc, "stderr": err.getvalue()}) + "\n")
    out.flush()
