# dockerd's default runtime in the test Kubernetes cluster (kube-cluster.ts): runc with one change.
#
# The kubelet asks for oom_score_adj -998 on every pod sandbox and this VM forbids lowering it, so the
# real runc fails with "can't get final child's PID from pipe: EOF". Before `create` or `run`, this
# wrapper sets a negative process.oomScoreAdj in the bundle's config.json to 0 (read and written with
# the json module, no shell, no string building), then execs the real runc with the very same argv:
# exec, not a child process, so every file descriptor runc was handed (console socket, preserved fds,
# the shim's pipes) reaches it unchanged. kube-cluster.ts copies this file into the cluster's temp dir
# with the interpreter's absolute path on the first line.
import json
import os
import sys

ARGS = sys.argv[1:]
COMMANDS_WITH_A_BUNDLE = ("create", "run")


def real_runc():
    here = os.path.dirname(os.path.abspath(__file__))
    directories = os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
    for directory in directories:
        if not directory or os.path.abspath(directory) == here:
            continue
        candidate = os.path.join(directory, "runc")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    sys.stderr.write("runc-clamp-oom: no runc found\n")
    sys.exit(127)


def bundle_of(args):
    """The --bundle/-b value of a create or run command line; runc's default is the working directory."""
    if not any(command in args for command in COMMANDS_WITH_A_BUNDLE):
        return None
    for index, arg in enumerate(args):
        if arg in ("--bundle", "-b") and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--bundle="):
            return arg[len("--bundle=") :]
    return "."


def clamp_oom_score_adj(bundle):
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, encoding="utf-8") as file:
            config = json.load(file)
    except (OSError, ValueError):
        return  # runc itself reports a missing or broken bundle
    process = config.get("process") if isinstance(config, dict) else None
    if not isinstance(process, dict):
        return
    adj = process.get("oomScoreAdj")
    if isinstance(adj, int) and adj < 0:
        process["oomScoreAdj"] = 0
        partial = path + ".clamp-oom"
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(config, file)
        os.replace(partial, path)


bundle = bundle_of(ARGS)
if bundle is not None:
    clamp_oom_score_adj(bundle)
runc = real_runc()
os.execv(runc, [runc] + ARGS)
