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
