#!/usr/bin/env bash
# Makes sure a Redis-compatible server answers on 127.0.0.1:6379 for the failure-limit store's
# tests (`[limits] store = "redis"`; under CI=true they fail rather than skip without it).
# Installs Valkey (BSD-3-Clause) from Debian's packages when the release has it, else Redis
# (Debian 12 ships 7.0, BSD-3-Clause; Redis 7.4 and later are RSALv2/SSPLv1/AGPLv3). It is a
# test service only: nothing links it. Started without persistence.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# PING over bash's /dev/tcp: needs neither redis-cli nor valkey-cli.
answers() {
    exec 3<>/dev/tcp/127.0.0.1/6379 || return 1
    printf 'PING\r\n' >&3
    local line=""
    read -r -t 2 line <&3 || true
    exec 3<&- 3>&-
    [[ "$line" == +PONG* ]]
}

if answers 2>/dev/null; then
    echo "Redis is up on 127.0.0.1:6379"
    exit 0
fi

server=$(command -v valkey-server || command -v redis-server || true)
if [ -z "$server" ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    if apt-cache policy valkey-server 2>/dev/null | grep -qE 'Candidate: [0-9]'; then
        package=valkey-server
    else
        package=redis-server
    fi
    echo "installing $package"
    $SUDO apt-get install -y -qq "$package" >/dev/null
    server=$(command -v valkey-server || command -v redis-server)
    echo "$package $(dpkg-query -W -f='${Version}' "$package"), licence: $(grep -m1 '^License:' "/usr/share/doc/$package/copyright" | cut -d' ' -f2-)"
fi

"$server" --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no >/dev/null
for _ in $(seq 1 30); do
    if answers 2>/dev/null; then
        echo "Redis is up on 127.0.0.1:6379 ($("$server" --version | cut -d' ' -f1-3))"
        exit 0
    fi
    sleep 1
done
echo "Redis did not come up on 127.0.0.1:6379" >&2
exit 1
