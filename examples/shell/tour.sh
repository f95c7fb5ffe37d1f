#!/usr/bin/env bash
# A tour of the sidecar's actor HTTP API with curl. It calls a Counter actor, such as the
# one examples/python hosts, through the sidecar on DAPR_HTTP_PORT, prints every request
# with its answer, and stops at the first answer whose status is not the expected one.
set -euo pipefail

api="http://127.0.0.1:${DAPR_HTTP_PORT:-3500}/v1.0"
actor="/actors/Counter/${ACTOR_ID:-tour}"

# call STATUS METHOD PATH [JSON] sends JSON to the API's PATH and prints the exchange.
call() {
  local want=$1 method=$2 path=$3 body=${4-}
  local args=(-sS -X "$method" -w '\n%{http_code}')
  if [[ -n $body ]]; then
    args+=(-H 'Content-Type: application/json' -d "$body")
  fi

  local out status answer
  out=$(curl "${args[@]}" "$api$path")
  status=${out##*$'\n'}
  answer=${out%$'\n'*}
  echo "$method $path ${body:+$body }-> $status${answer:+ $answer}"
  if [[ $status != "$want" ]]; then
    echo "tour: expected status $want" >&2
    exit 1
  fi
}

echo "# The sidecar is up and has reached its app"
call 204 GET /healthz

echo "# Invoke actor methods (any verb; arguments as the host expects them)"
call 200 POST "$actor/method/greet" '["curl"]'
call 200 POST "$actor/method/increment" '[]'
call 200 PUT "$actor/method/increment" '[]'

echo "# Read and write the actor's state while it is active on this sidecar"
call 200 GET "$actor/state/count"
call 204 POST "$actor/state" '[{"operation":"upsert","request":{"key":"count","value":10}}]'
call 200 POST "$actor/method/increment" '[]'
call 204 GET "$actor/state/no-such-key"

echo "# Reminders: create, read, delete (this one is due in an hour, so it does not fire)"
call 204 POST "$actor/reminders/wake-up" '{"dueTime":"1h","period":"24h","data":{"say":"hi"}}'
call 200 GET "$actor/reminders/wake-up"
call 204 DELETE "$actor/reminders/wake-up"
call 200 GET "$actor/reminders/wake-up"

echo "# Errors come in one shape"
call 500 POST "$actor/method/no-such-method" '[]'

echo "# What is active on this sidecar"
call 200 GET /metadata
