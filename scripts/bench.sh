#!/usr/bin/env bash
# `make bench`: webhook throughput of a real --workers=2 Odoo and the cost of
# matching a WhatsApp number among 100,000 partners (benchmarks/
# webhook_throughput.py), then 1,000 template messages through the outbound
# queue with throttling errors (benchmarks/outbound_queue.py), 1,000 new
# conversations shared by a team of 20 (benchmarks/assignment_spread.py),
# what leads, labels, photos and the away message cost per inbound message
# (benchmarks/crm_inbound.py), and the upkeep cron giving 1,000 waiting chats
# to a team of 20 that comes online, with and without capacity limits, and
# escalating 200 late ones (benchmarks/upkeep_cron.py), and the team inbox's
# list, a chat opened and a new message reaching an open screen at 2,000 and
# 20,000 chats (benchmarks/inbox.py), and the managers' reports over 100,000
# chats and 1,000,000 messages with what keeping the response figures costs
# per message (benchmarks/reports.py), each on a throwaway database.
# `make bench BENCH=outbound_queue` runs one of them.
source "$(dirname "$0")/common.sh"

ensure_python
ensure_python_packages
ensure_odoo
ensure_postgres
read -r -a ARGS <<<"$(odoo_db_args)"

export WA_PYTHON="$PYTHON"
export WA_ODOO_ARGS="${ARGS[*]}"
export WA_DB_HOST="$DB_HOST" WA_DB_PORT="$DB_PORT" WA_DB_USER="$DB_USER"
cd "$ROOT"
for name in ${BENCH:-webhook_throughput outbound_queue assignment_spread crm_inbound upkeep_cron inbox reports}; do
    "$PYTHON" "benchmarks/$name.py" "$@"
done
