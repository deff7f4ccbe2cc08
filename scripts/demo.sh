#!/usr/bin/env bash
# Starts the demo node: keys, data directory and a demo client under ./var/demo, synthetic patients
# seeded once, and one node with every role on 127.0.0.1:8080. Run through `make demo`, which builds
# the release binary first. Stop it with Ctrl-C (the node drains and exits).
set -euo pipefail
cd "$(dirname "$0")/.."

kavach=build/release/kavach
demo=var/demo
key_file=$demo/node.key
data=$demo/data
listen=${KAVACH_DEMO_LISTEN:-127.0.0.1:8080}
patients=${KAVACH_DEMO_PATIENTS:-50}

mkdir -p "$demo"
chmod 700 "$demo"
[[ -f $key_file ]] || "$kavach" keys init --key-file "$key_file"
if [[ ! -f $demo/client.json ]]; then
  "$kavach" client add --data "$data" --key-file "$key_file" --name "demo client" \
    --scopes "system/*.cruds kavach/metrics kavach/audit" --json > "$demo/client.json.tmp"
  mv "$demo/client.json.tmp" "$demo/client.json"
  chmod 600 "$demo/client.json"
fi
if [[ ! -f $demo/seeded ]]; then
  "$kavach" seed --data "$data" --key-file "$key_file" --patients "$patients" --seed 1
  touch "$demo/seeded"
fi

# The consent manager's registry: one demo hospital that is both HIP and HIU, calling back to this
# node and signing as it, with one doctor; and its API client.
if [[ ! -f $demo/facility.json ]]; then
  node_key=$("$kavach" consent key --data "$data" --key-file "$key_file" | awk '/^cm_key:/ {print $2}')
  "$kavach" registry facility add --data "$data" --key-file "$key_file" --id demo-hospital \
    --name "Demo Hospital" --roles hip,hiu --callback-url "http://$listen" --public-key "$node_key" \
    --with-client --json > "$demo/facility.json.tmp"
  "$kavach" registry professional add --data "$data" --key-file "$key_file" --id dr-demo \
    --name "Dr. Demo" --facility demo-hospital --registration DEMO1001 > /dev/null
  mv "$demo/facility.json.tmp" "$demo/facility.json"
  chmod 600 "$demo/facility.json"
fi
# The web app's staff: the demo doctor (their client carries the registration number) and IT.
for who in clinician it; do
  if [[ ! -f $demo/$who.json ]]; then
    if [[ $who == clinician ]]; then name="Dr. Demo" scopes="professional:DEMO1001"; else name="Hospital IT" scopes="kavach/admin"; fi
    "$kavach" client add --data "$data" --key-file "$key_file" --name "$name" --scopes "$scopes" \
      --json > "$demo/$who.json.tmp"
    mv "$demo/$who.json.tmp" "$demo/$who.json"
    chmod 600 "$demo/$who.json"
  fi
done
cat > "$demo/kavach.toml" <<TOML
[consent]
cm_id = "sbx"
facility_id = "demo-hospital"
TOML

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
client_id=$(field "$demo/client.json" client_id)
client_secret=$(field "$demo/client.json" client_secret)
base="http://$listen"
cat <<MSG

Kavach demo node (roles cm, hip, hiu; embedded SQLite store in $data)
  Health:        $base/healthz
  FHIR API:      $base/fhir/R4   (CapabilityStatement at $base/fhir/R4/metadata)
  Token:         $base/oauth2/token
  Metrics:       $base/metrics   (needs a token)

Demo credentials (OAuth 2.0 client credentials, scopes "system/*.cruds kavach/metrics kavach/audit"):
  client_id:     $client_id
  client_secret: $client_secret

Try:
  TOKEN=\$(curl -s -u $client_id:$client_secret -d grant_type=client_credentials $base/oauth2/token \\
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer \$TOKEN" "$base/fhir/R4/Patient?gender=female&_count=5"
  curl -s -i $base/fhir/R4/Patient        # no token: 401 with an OperationOutcome
  curl -s $base/audit/log/checkpoint      # the audit log's signed checkpoint
  curl -s -H "Authorization: Bearer \$TOKEN" "$base/fhir/R4/AuditEvent?_count=3"
  $kavach audit verify --data $data --key-file $key_file

Consent manager (docs/consent.md): enrol a patient; one-time codes arrive in $data/notifications.jsonl
  curl -s -X POST $base/cm/v1/enrolment -H 'Content-Type: application/json' \
       -d '{"name":"Asha Devi","yearOfBirth":1985,"gender":"F","mobile":"9876543210","abhaAddress":"asha.devi"}'
  tail -1 $data/notifications.jsonl
  curl -s -X POST $base/cm/v1/enrolment/confirm -H 'Content-Type: application/json' \
       -d '{"ticket":"<ticket>","code":"<code>"}'
  curl -s $base/v0.5/certs                # the keys that sign consent artefacts
  The demo hospital's HIU client (scopes abdm/hiu abdm/hip facility:demo-hospital) is in $demo/facility.json.

Web app (docs/web.md):  $base/app/
  Patient:     enrol as Asha Devi, born 1986, female, mobile 9876543210 (the demo hospital holds two
               of her visits); codes arrive in $data/notifications.jsonl. Then Hospitals -> Demo
               Hospital links her visits.
  Clinician:   user ID $(field "$demo/clinician.json" client_id)
               password $(field "$demo/clinician.json" client_secret)
  Hospital IT: user ID $(field "$demo/it.json" client_id)
               password $(field "$demo/it.json" client_secret)

MSG
"$kavach" serve --data "$data" --key-file "$key_file" --listen "$listen" --config "$demo/kavach.toml" &
server=$!
trap 'kill -TERM $server 2>/dev/null' INT TERM
# Once: the demo hospital's record of Asha Devi, for the web app's walk-through.
if [[ ! -f $demo/asha-seeded ]]; then
  python3 scripts/demo-patient.py "$base" "$client_id" "$client_secret" && touch "$demo/asha-seeded"
fi
wait $server
