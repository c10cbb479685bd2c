#!/usr/bin/env bash
# Entrypoint of the bench's postgres image. It behaves as the official image's docker-entrypoint.sh
# (docker-library/postgres, 16/bookworm) does for what a chart can set; written here, not copied:
#   - POSTGRES_PASSWORD / _USER (default postgres) / _DB (default: the user) / _INITDB_ARGS, each also as
#     *_FILE; POSTGRES_HOST_AUTH_METHOD (default: the server's password_encryption, scram-sha-256);
#   - initdb only when $PGDATA has no PG_VERSION, and then only with a password (or trust);
#   - `host all all all <method>` appended to pg_hba.conf; the database created on a socket-only server;
#     /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst run once, in order;
#   - started as root: directories chowned, then re-run as postgres (setpriv stands in for gosu);
#   - a uid without a passwd entry gets one from nss_wrapper for initdb.
set -Eeo pipefail

file_env() {  # VAR [DEFAULT]: VAR from $VAR or from the file $VAR_FILE, never both
  local var=$1 file_var=${1}_FILE default=${2:-}
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  local value=$default
  if [[ -n ${!var:-} ]]; then value=${!var}; elif [[ -n ${!file_var:-} ]]; then value=$(<"${!file_var}"); fi
  export "$var=$value"
  unset "$file_var"
}

wants_help() {
  local arg
  for arg; do
    case $arg in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

prepare_directories() {
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :  # may be impossible on some volumes; postgres then says why
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql || :
  if [[ $(id -u) == 0 ]]; then
    find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  fi
}

sql() {  # psql on the temporary server's socket, as the superuser
  # The socket directory named: this image's psql (PostgreSQL 16.2's, from pgserver; Debian's pg_wrapper
  # runs it as `psql`) has /tmp compiled in, the server's socket is in /var/run/postgresql (the CMD's).
  PGHOST=/var/run/postgresql PGHOSTADDR= \
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

initialise() {
  if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    cat >&2 <<'EOF'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser,
       or POSTGRES_HOST_AUTH_METHOD=trust (not recommended).
EOF
    exit 1
  fi
  ls /docker-entrypoint-initdb.d/ >/dev/null  # fail before initdb if it is unreadable

  local wrapped=
  if ! getent passwd "$(id -u)" >/dev/null; then
    local lib
    for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
      [[ -s $lib ]] || continue
      NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
      export LD_PRELOAD=$lib NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
      echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
      echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
      wrapped=1
      break
    done
  fi
  # --pwfile wants a line even for an empty password (trust).
  eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
  if [[ -n $wrapped ]]; then
    rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
    unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi

  local server_args=("$@")
  [[ ${server_args[0]:-} == postgres ]] && server_args=("${server_args[@]:1}")
  : "${POSTGRES_HOST_AUTH_METHOD:=$(postgres -C password_encryption "${server_args[@]}")}"
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  PGUSER=${PGUSER:-$POSTGRES_USER} pg_ctl -D "$PGDATA" -w start \
    -o "$(printf '%q ' "${server_args[@]}" -c listen_addresses= -p "${PGPORT:-5432}")"
  if [[ -z $(sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db';") ]]; then
    sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) echo "$0: running $f"; if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
      *.sql) echo "$0: running $f"; sql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | sql --dbname "$POSTGRES_DB" ;;
      *.sql.xz) echo "$0: running $f"; xzcat "$f" | sql --dbname "$POSTGRES_DB" ;;
      *.sql.zst) echo "$0: running $f"; zstd -dc "$f" | sql --dbname "$POSTGRES_DB" ;;
      *) [[ -e $f ]] && echo "$0: ignoring $f" ;;
    esac
  done
  PGUSER=${PGUSER:-postgres} pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo 'PostgreSQL init process complete; ready for start up.'
}

[[ ${1:0:1} == - ]] && set -- postgres "$@"
if [[ $1 == postgres ]] && ! wants_help "$@"; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  prepare_directories
  if [[ $(id -u) == 0 ]]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
  fi
  if [[ -s $PGDATA/PG_VERSION ]]; then
    echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  else
    initialise "$@"
  fi
fi
exec "$@"
