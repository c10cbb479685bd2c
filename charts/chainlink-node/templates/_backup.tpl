{{/*
Backups (values.yaml backup.*, README "Backup and restore"). A backup pod runs two containers sharing an emptyDir
at /backup: `dump` (the Postgres image, so pg_dump matches the embedded server) writes a custom-format pg_dump
into the pipe /backup/dump, which `upload` (`chainlink-agent backup`) makes, reads, encrypts with age to
backup.ageRecipients and streams to S3; `dump` then writes pg_dump's exit code to /backup/status. The database
credentials reach `dump` only, the S3 credentials and the Kubernetes token `upload` only. The upload records the
result in the ChainlinkNode's status.backup. The CronJob and the pre-upgrade hook Job share this pod.
restore.* turns on init containers of the node's pod that read one back before the node first starts.
Nothing here renders while both are off.
*/}}

{{- define "chainlink-node.backup.name" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "backup") }}
{{- end }}

{{- define "chainlink-node.backup.hookName" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "backup-before-upgrade") }}
{{- end }}

{{/* Where a backup pod connects, for its NetworkPolicy: the database, the store (in the rules), the API server. */}}
{{- define "chainlink-node.backup.egressTo" -}}
["dns", "apiServer", "database", "rules"]
{{- end }}

{{/* backup.ageRecipients joined with ",", after checking each is an age X25519 public key. */}}
{{- define "chainlink-node.backup.recipients" -}}
{{- $recipients := .Values.backup.ageRecipients | default list }}
{{- if not $recipients }}
{{- fail "backup.enabled needs backup.ageRecipients: the age public keys (age1..., from age-keygen) every backup is encrypted to before it leaves the pod. Keep their identities off the cluster" }}
{{- end }}
{{- range $i, $r := $recipients }}
{{- if not (regexMatch "^age1[0-9a-z]{58}$" (toString $r)) }}
{{- fail (printf "backup.ageRecipients[%d]: %q is not an age public key (age1 followed by 58 lowercase letters and digits, as age-keygen prints it); never give the identity (AGE-SECRET-KEY-1...) here" $i (toString $r)) }}
{{- end }}
{{- end }}
{{- $recipients | join "," }}
{{- end }}

{{/*
The S3 store's environment, for the upload and restore-fetch containers; fails naming the first value missing.
Call with (dict "context" $ "for" "backup.enabled").
*/}}
{{- define "chainlink-node.backup.s3Env" -}}
{{- $s3 := .context.Values.backup.s3 }}
{{- range $key := list "endpoint" "bucket" "existingSecret" }}
{{- if not (get $s3 $key) }}
{{- fail (printf "%s needs backup.s3.%s: the S3 store of the backups (backup.s3.endpoint, backup.s3.bucket, and backup.s3.existingSecret, a Secret with the credentials)" $.for $key) }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^https?://[^/?#@]+/?$" $s3.endpoint) }}
{{- fail (printf "backup.s3.endpoint: %q is not a URL of the form http(s)://host[:port], without a path or credentials (https://s3.us-east-1.amazonaws.com, or your store's https://host:port; the bucket is backup.s3.bucket)" $s3.endpoint) }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$" $s3.bucket) }}
{{- fail (printf "backup.s3.bucket: %q is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)" $s3.bucket) }}
{{- end -}}
- name: CHAINLINK_BACKUP_S3_ENDPOINT
  value: {{ $s3.endpoint | quote }}
- name: CHAINLINK_BACKUP_S3_BUCKET
  value: {{ $s3.bucket | quote }}
- name: CHAINLINK_BACKUP_S3_PREFIX
  value: {{ $s3.prefix | quote }}
- name: CHAINLINK_BACKUP_S3_REGION
  value: {{ $s3.region | quote }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ $s3.existingSecret | quote }}
      key: {{ $s3.accessKeyIdKey | quote }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s3.existingSecret | quote }}
      key: {{ $s3.secretAccessKeyKey | quote }}
{{- end }}

{{/*
Where pg_dump, psql and pg_restore find the node's database. Embedded: libpq's PG* variables, the password from
the Postgres Secret. External: the node's URL from a Secret, as DATABASE_URL, which the scripts pass as the
dbname (libpq expands a URL there): externalDatabase.existingSecret's, or with externalDatabase.url the key
database-url that secrets.yaml adds to the chart's Secret only for backups and restores (the node reads the URL
from secrets.toml).
*/}}
{{- define "chainlink-node.backup.databaseEnv" -}}
{{- $mode := include "chainlink-node.database.mode" . }}
{{- if eq $mode "embedded" -}}
- name: PGHOST
  value: {{ include "chainlink-node.postgresHost" . | quote }}
- name: PGPORT
  value: "5432"
- name: PGUSER
  value: {{ .Values.postgresql.auth.username | quote }}
- name: PGDATABASE
  value: {{ .Values.postgresql.auth.database | quote }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "chainlink-node.postgresSecretName" . | quote }}
      key: {{ include "chainlink-node.postgresSecretKey" . | quote }}
{{- else -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- if eq $mode "secret" }}
      name: {{ .Values.externalDatabase.existingSecret | quote }}
      key: {{ .Values.externalDatabase.existingSecretKey | quote }}
      {{- else }}
      name: {{ include "chainlink-node.secretsName" . | quote }}
      key: database-url
      {{- end }}
{{- end }}
{{- end }}

{{/* The dbname argument of those scripts: the database's name (embedded) or the URL (external). */}}
{{- define "chainlink-node.backup.dbname" -}}
{{- if eq (include "chainlink-node.database.mode" .) "embedded" }}"$PGDATABASE"{{ else }}"$DATABASE_URL"{{ end }}
{{- end }}

{{/* "true" when secrets.yaml must give the external database's URL a key of its own (see databaseEnv). */}}
{{- define "chainlink-node.backup.urlKey" -}}
{{- if and (or .Values.backup.enabled .Values.restore.enabled) (eq (include "chainlink-node.database.mode" .) "url") }}true{{ end }}
{{- end }}

{{/*
What a backup's ServiceAccount may do: record the result in its own node's ChainlinkNode status, and read the
placements it saves beside the dump (RBAC cannot narrow a list to one node's label: it reads every node's
records, which every agent of the namespace reads too, and writes none).
*/}}
{{- define "chainlink-node.backup.rules" -}}
# Its own ChainlinkNode only: read it, and write status.backup.
- apiGroups: ["chainlink-k8s.github.io"]
  resources: ["chainlinknodes"]
  resourceNames: [{{ include "chainlink-node.nodeName" . | quote }}]
  verbs: ["get"]
- apiGroups: ["chainlink-k8s.github.io"]
  resources: ["chainlinknodes/status"]
  resourceNames: [{{ include "chainlink-node.nodeName" . | quote }}]
  verbs: ["patch"]
# This node's placements (label selector), saved beside the dump for a restore (records.py).
- apiGroups: ["chainlink-k8s.github.io"]
  resources: ["chainlinkplacements"]
  verbs: ["list"]
{{- end }}

{{/*
The tag of an image reference (registry/repo:tag[@digest]), or "" when it names none.
*/}}
{{- define "chainlink-node.imageTag" -}}
{{- $last := splitList "@" . | first | splitList "/" | last }}
{{- if contains ":" $last }}{{ splitList ":" $last | last }}{{ end }}
{{- end }}

{{/*
The image of the node container the release's StatefulSet runs now, read with lookup; "" on install, under
helm template and GitOps renders (lookup answers nothing there).
*/}}
{{- define "chainlink-node.backup.runningNodeImage" -}}
{{- with lookup "apps/v1" "StatefulSet" .Release.Namespace (include "chainlink-node.fullname" .) }}
{{- range (dig "spec" "template" "spec" "containers" list .) }}
{{- if eq (get . "name") "node" }}{{ get . "image" }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"true" when this render is an upgrade that changes the node's image and backup.beforeUpgrade asks for a backup
first (backup-before-upgrade.yaml).
*/}}
{{- define "chainlink-node.backup.beforeThisUpgrade" -}}
{{- if and .Values.backup.enabled .Values.backup.beforeUpgrade .Release.IsUpgrade }}
{{- $running := include "chainlink-node.backup.runningNodeImage" . }}
{{- if and $running (ne $running (include "chainlink-node.nodeImage" .)) }}true{{ end }}
{{- end }}
{{- end }}

{{/*
The backup Job's pod. Call with (dict "context" $ "serviceAccount" NAME "trigger" "Scheduled"|"PreUpgrade"
"nodeVersion" TAG).
*/}}
{{- define "chainlink-node.backup.podSpec" -}}
{{- $ := .context }}
{{- $b := $.Values.backup -}}
restartPolicy: Never
serviceAccountName: {{ .serviceAccount | quote }}
# Only the upload container holds a Kubernetes token (projected below), to write the ChainlinkNode's status.
automountServiceAccountToken: false
{{- with include "chainlink-node.imagePullSecrets" $ }}
{{ . }}
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
{{- with $.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  # pg_dump of the whole database, the node's encrypted keys included, into the pipe the upload makes: the dump
  # never lands on disk unencrypted. Its exit code goes to /backup/status, which the upload waits for.
  - name: dump
    image: {{ include "chainlink-node.postgresImage" $ }}
    imagePullPolicy: {{ $.Values.postgresql.image.pullPolicy }}
    command:
      - sh
      - -c
      - |
        set -f
        done_with() { echo "$1" > /backup/status.tmp && mv /backup/status.tmp /backup/status; exit "$1"; }
        waited=0
        until [ -p /backup/dump ]; do
          if [ "$waited" -ge 120 ]; then
            echo "the upload container made no pipe /backup/dump in 120 s" >&2
            done_with 1
          fi
          sleep 1
          waited=$((waited + 1))
        done
        # --no-sync: pg_dump fsyncs its output file by default, which a pipe refuses (EINVAL).
        pg_dump --format=custom --no-sync -f /backup/dump --dbname={{ include "chainlink-node.backup.dbname" $ }}
        done_with "$?"
    env:
      {{- include "chainlink-node.backup.databaseEnv" $ | nindent 6 }}
    resources:
      {{- toYaml $b.resources | nindent 6 }}
    securityContext:
      {{- toYaml $.Values.containerSecurityContext | nindent 6 }}
    volumeMounts:
      - name: backup
        mountPath: /backup
  - name: upload
    image: {{ include "chainlink-node.agentImage" $ }}
    imagePullPolicy: {{ $.Values.agent.image.pullPolicy }}
    command: ["chainlink-agent", "backup"]
    env:
      {{- include "chainlink-node.backup.s3Env" (dict "context" $ "for" "backup.enabled") | nindent 6 }}
      - name: CHAINLINK_BACKUP_AGE_RECIPIENTS
        value: {{ include "chainlink-node.backup.recipients" $ | quote }}
      - name: CHAINLINK_BACKUP_RETENTION_DAYS
        value: {{ $b.retentionDays | int | toString | quote }}
      - name: CHAINLINK_BACKUP_DIR
        value: /backup
      - name: CHAINLINK_BACKUP_TRIGGER
        value: {{ .trigger }}
      - name: CHAINLINK_BACKUP_NODE_VERSION
        value: {{ .nodeVersion | toString | quote }}
      - name: CHAINLINK_AGENT_NODE_NAME
        value: {{ include "chainlink-node.nodeName" $ | quote }}
      - name: CHAINLINK_AGENT_NAMESPACE
        valueFrom:
          fieldRef:
            fieldPath: metadata.namespace
    resources:
      {{- toYaml $b.resources | nindent 6 }}
    securityContext:
      {{- toYaml $.Values.containerSecurityContext | nindent 6 }}
    volumeMounts:
      - name: backup
        mountPath: /backup
      - name: tmp
        mountPath: /tmp
      # The in-cluster config reads the token here.
      - name: token
        mountPath: /var/run/secrets/kubernetes.io/serviceaccount
        readOnly: true
volumes:
  - name: backup
    emptyDir: {}
  - name: tmp
    emptyDir: {}
  - name: token
    projected:
      defaultMode: 0444
      sources:
        - serviceAccountToken:
            path: token
            expirationSeconds: 3607
        - configMap:
            name: kube-root-ca.crt
            items:
              - key: ca.crt
                path: ca.crt
        - downwardAPI:
            items:
              - path: namespace
                fieldRef:
                  apiVersion: v1
                  fieldPath: metadata.namespace
{{- end }}

{{/*
Annotations of the pre-upgrade backup's resources; call with (dict "weight" "-30" "deletePolicy" "..."). They
run before any other hook of the upgrade.
*/}}
{{- define "chainlink-node.backup.hookAnnotations" -}}
helm.sh/hook: pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: {{ .deletePolicy }}
{{- end }}

{{/*
restore.enabled: init containers of the node's pod, after wait-for-database, sharing the emptyDir /restore.
restore-check touches /restore/skip when the database already holds a node (the table node_versions, which the
node's first migration makes), so a database in use is never overwritten; restore-fetch (the agent) downloads and
decrypts the backup to /restore/dump unless /restore/skip exists; restore-load pg_restores it in one
transaction. The kubelet retries a failed init container by itself, not the ones before it, so restore-load
looks again after a failed restore: with a standby both pods may restore at once, and the one whose transaction
loses finds the other's node there.
*/}}
{{- define "chainlink-node.restore.initContainers" -}}
{{- $r := .Values.restore }}
{{- $dbname := include "chainlink-node.backup.dbname" . }}
{{- $holdsNode := printf "[ \"$(psql -X -q -t -A -v ON_ERROR_STOP=1 --dbname=%s -c \"SELECT to_regclass('public.node_versions') IS NOT NULL\")\" = t ]" $dbname -}}
- name: restore-check
  image: {{ include "chainlink-node.postgresImage" . }}
  imagePullPolicy: {{ .Values.postgresql.image.pullPolicy }}
  command:
    - sh
    - -c
    - |
      set -f
      found=$(psql -X -q -t -A -v ON_ERROR_STOP=1 --dbname={{ $dbname }} -c "SELECT to_regclass('public.node_versions') IS NOT NULL") || exit 1
      if [ "$found" = t ]; then
        echo "the database already holds a node (table node_versions): nothing is restored"
        touch /restore/skip
      else
        echo "the database holds no node: restoring"
      fi
  env:
    {{- include "chainlink-node.backup.databaseEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.backup.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: restore
      mountPath: /restore
- name: restore-fetch
  image: {{ include "chainlink-node.agentImage" . }}
  imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
  command: ["chainlink-agent", "restore-fetch"]
  env:
    {{- include "chainlink-node.backup.s3Env" (dict "context" . "for" "restore.enabled") | nindent 4 }}
    - name: CHAINLINK_RESTORE_KEY
      value: {{ $r.key | quote }}
    - name: CHAINLINK_RESTORE_FROM_NODE
      value: {{ $r.fromNode | default (include "chainlink-node.nodeName" .) | quote }}
    - name: CHAINLINK_RESTORE_AGE_IDENTITY_FILE
      value: /chainlink/restore-identity/identity
    - name: CHAINLINK_BACKUP_DIR
      value: /restore
    - name: CHAINLINK_AGENT_NODE_NAME
      value: {{ include "chainlink-node.nodeName" . | quote }}
    - name: CHAINLINK_AGENT_NAMESPACE
      value: {{ .Release.Namespace | quote }}
  resources:
    {{- toYaml .Values.backup.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: restore
      mountPath: /restore
    - name: restore-identity
      mountPath: /chainlink/restore-identity
      readOnly: true
    {{- if .Values.agent.enabled }}
    # The agent's token: the placements saved beside the backup are made again, released, as the agent's
    # (agent/chainlink_agent/backups/records.py), so that it removes the jobs of the resources they were made for.
    - name: agent-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- end }}
    - name: tmp
      mountPath: /tmp
- name: restore-load
  image: {{ include "chainlink-node.postgresImage" . }}
  imagePullPolicy: {{ .Values.postgresql.image.pullPolicy }}
  command:
    - sh
    - -c
    - |
      set -f
      holds_node() { {{ $holdsNode }}; }
      [ -f /restore/dump ] || exit 0
      if pg_restore --exit-on-error --single-transaction --no-owner --no-privileges --dbname={{ $dbname }} /restore/dump; then
        rm /restore/dump
        echo "restored"
      elif holds_node; then
        echo "another pod of this node restored the database first"
        rm /restore/dump
      else
        exit 1
      fi
  env:
    {{- include "chainlink-node.backup.databaseEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.backup.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: restore
      mountPath: /restore
{{- end }}

{{/* The volumes of those init containers. */}}
{{- define "chainlink-node.restore.volumes" -}}
# The decrypted dump, on the pod's disk until restore-load has loaded it (and removed it).
- name: restore
  emptyDir: {}
- name: restore-identity
  secret:
    secretName: {{ .Values.restore.ageIdentitySecret | quote }}
    # Read-only to the pod's user (the kubelet adds group read for fsGroup).
    defaultMode: 0400
    items:
      - key: {{ .Values.restore.ageIdentityKey | quote }}
        path: identity
{{- end }}
