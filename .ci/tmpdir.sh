# Sourced by .ci/check and .ci/run before pytest.
# The tests' files (SQLite databases, servers' directories, uploads) go to memory where the
# machine has a tmpfs that may run programs: each test's SQLite file syncs to disk as it is
# checkpointed and closed, and nothing of it needs to outlive the run.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  probe=$(mktemp /dev/shm/feedsvc-probe.XXXXXX)
  printf '#!/bin/sh\n' >"$probe" && chmod +x "$probe"
  if "$probe" 2>/dev/null; then export TMPDIR=/dev/shm; fi
  rm -f "$probe"
fi
