{{/*
Names. StatefulSet names are kept to 52 characters: the controller-revision-hash label it puts on its pods
is "<name>-<10 char hash>" and must fit the 63-character label limit.
*/}}
{{- define "chainlink-node.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "chainlink-node.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<fullname>-<component>", the base trimmed first so the suffix always survives.
Call with (dict "context" $ "component" "postgres").
*/}}
{{- define "chainlink-node.componentName" -}}
{{- $base := include "chainlink-node.fullname" .context | trunc (int (sub 51 (len .component))) | trimSuffix "-" }}
{{- printf "%s-%s" $base .component }}
{{- end }}

{{- define "chainlink-node.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels. Call both with (dict "context" $ "component" "node"). Selector labels never carry the version or
the chart: StatefulSet selectors are immutable.
*/}}
{{- define "chainlink-node.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chainlink-node.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "chainlink-node.labels" -}}
helm.sh/chart: {{ include "chainlink-node.chart" .context }}
{{ include "chainlink-node.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: chainlink-k8s
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The node's identity for ChainlinkJob targets; the agent's finalizer is nodes.chainlink-k8s.github.io/<nodeName>.
Release names may hold dots, node names may not.
*/}}
{{- define "chainlink-node.nodeName" -}}
{{- $name := .Values.nodeName | default (include "chainlink-node.fullname" . | replace "." "-") }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "nodeName %q must be a DNS label (lowercase letters, digits and '-', at most 63 characters)" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{/* nodeLabels go on the pod next to the chart's own labels, which they must not replace. */}}
{{- define "chainlink-node.podIdentityLabels" -}}
chainlink-k8s.github.io/node-name: {{ include "chainlink-node.nodeName" . }}
{{- range $key, $value := .Values.nodeLabels }}
{{- if regexMatch "^(app\\.kubernetes\\.io|helm\\.sh|chainlink-k8s\\.github\\.io)/" $key }}
{{- fail (printf "nodeLabels: %q is reserved for the chart's own labels; choose another key" $key) }}
{{- end }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}

{{- define "chainlink-node.image" -}}
{{- $tag := .image.tag | default .default | toString }}
{{- if .image.digest }}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "chainlink-node.nodeImage" -}}
{{- include "chainlink-node.image" (dict "image" .Values.image "default" "") }}
{{- end }}

{{- define "chainlink-node.agentImage" -}}
{{- include "chainlink-node.image" (dict "image" .Values.agent.image "default" .Chart.AppVersion) }}
{{- end }}

{{- define "chainlink-node.postgresImage" -}}
{{- include "chainlink-node.image" (dict "image" .Values.postgresql.image "default" "") }}
{{- end }}

{{- define "chainlink-node.serviceAccountName" -}}
{{- if and .Values.agent.enabled .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "chainlink-node.componentName" (dict "context" . "component" "agent")) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
"true" when the agent runs as a native sidecar (an init container with restartPolicy: Always, 1.29+), "" when it
runs as a regular container. agent.nativeSidecar: auto decides from the cluster's version.
*/}}
{{- define "chainlink-node.agent.nativeSidecar" -}}
{{- $mode := toString .Values.agent.nativeSidecar }}
{{- if eq $mode "auto" }}
{{- if semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version }}true{{ end }}
{{- else if eq $mode "true" }}true
{{- end }}
{{- end }}

{{/* Secrets the chart owns. */}}
{{- define "chainlink-node.apiSecretName" -}}
{{- .Values.node.api.existingSecret | default (include "chainlink-node.componentName" (dict "context" . "component" "api")) }}
{{- end }}

{{- define "chainlink-node.apiSecretKey" -}}
{{- if .Values.node.api.existingSecret }}{{ .Values.node.api.existingSecretKey }}{{ else }}credentials{{ end }}
{{- end }}

{{- define "chainlink-node.secretsName" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "secrets") }}
{{- end }}

{{- define "chainlink-node.postgresName" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "postgres") }}
{{- end }}

{{- define "chainlink-node.postgresSecretName" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "chainlink-node.postgresName" .) }}
{{- end }}

{{- define "chainlink-node.postgresSecretKey" -}}
{{- if .Values.postgresql.auth.existingSecret }}{{ .Values.postgresql.auth.existingSecretKey }}{{ else }}password{{ end }}
{{- end }}

{{/*
A value kept in an existing Secret, decoded, or "" (always "" under helm template and client-side dry runs,
where lookup answers nothing). Call with (dict "context" $ "name" "secret-name" "key" "data-key").
*/}}
{{- define "chainlink-node.existingSecretValue" -}}
{{- $secret := lookup "v1" "Secret" .context.Release.Namespace .name }}
{{- if $secret }}
{{- index ($secret.data | default dict) .key | default "" | b64dec }}
{{- end }}
{{- end }}

{{/*
A random password the node accepts: its complexity check (API, keystore and database passwords) wants at least
16 characters, three each of upper case, lower case, digits and symbols, and no run of more than three
identical characters. Runs of three from alternating classes satisfy it by construction; the symbols are
URL-safe so the password can sit in the database URL unescaped.
*/}}
{{- define "chainlink-node.randomPassword" -}}
{{- range $symbol := list "-" "_" "." }}
{{- printf "%s%s%s%s" (randAlpha 3 | upper) (randNumeric 3) (randAlpha 3 | lower) $symbol }}
{{- end }}
{{- end }}

{{/* Database: "embedded", "url" or "secret", after rejecting contradictory values. */}}
{{- define "chainlink-node.database.mode" -}}
{{- $ext := .Values.externalDatabase }}
{{- if .Values.postgresql.enabled }}
{{- if or $ext.url $ext.existingSecret }}
{{- fail "postgresql.enabled=true and externalDatabase.* are both set: disable the embedded Postgres (postgresql.enabled=false) to use an external database" }}
{{- end }}
{{- print "embedded" }}
{{- else if and $ext.url $ext.existingSecret }}
{{- fail "set one of externalDatabase.url and externalDatabase.existingSecret, not both" }}
{{- else if $ext.url }}
{{- print "url" }}
{{- else if $ext.existingSecret }}
{{- print "secret" }}
{{- else }}
{{- fail "postgresql.enabled=false needs externalDatabase.url or externalDatabase.existingSecret" }}
{{- end }}
{{- end }}

{{- define "chainlink-node.postgresHost" -}}
{{- printf "%s.%s.svc" (include "chainlink-node.postgresName" .) .Release.Namespace }}
{{- end }}

{{/*
config.toml from structured values. The node's own defaults apply to anything not set here; node.config is
merged over the chart's choices and node.configOverride (raw TOML) is a second -c file applied last.
Helm reads every YAML number as a float, and the node's decoder refuses 6688.0 for an integer field, so
integral floats are written back as integers.
*/}}
{{- define "chainlink-node.configToml" -}}
{{- $n := .Values.node }}
{{- /* RootDir is a directory the node makes itself, inside the volume: the node chmods an existing RootDir to
0700 (core/utils/files.go EnsureDirAndMaxPerms), which its uid may not do on a volume's root (root-owned,
group fsGroup). */}}
{{- $cfg := dict
  "RootDir" "/chainlink/data/root"
  "Log" (dict "Level" $n.logLevel "JSONConsole" $n.jsonLogs "File" (dict "MaxSize" "0b"))
  "WebServer" (dict "HTTPPort" (int $n.api.port) "SecureCookies" $n.api.secureCookies "RateLimit" (dict "Authenticated" (int $n.api.rateLimit.authenticated) "AuthenticatedPeriod" (printf "%ds" (int $n.api.rateLimit.authenticatedPeriodSeconds))))
}}
{{- /* The agent paces itself to these same figures (its CHAINLINK_AGENT_NODE_RATE_* env): one value each. */}}
{{- $rate := dig "WebServer" "RateLimit" dict $n.config }}
{{- if or (hasKey $rate "Authenticated") (hasKey $rate "AuthenticatedPeriod") }}
{{- fail "node.config: set WebServer.RateLimit.Authenticated and AuthenticatedPeriod through node.api.rateLimit, so the agent paces itself to the same figures" }}
{{- end }}
{{- if $n.p2p.enabled }}
{{- $v2 := dict "Enabled" true "ListenAddresses" (list (printf "0.0.0.0:%d" (int $n.p2p.port))) }}
{{- with $n.p2p.announceAddresses }}
{{- $_ := set $v2 "AnnounceAddresses" . }}
{{- end }}
{{- $_ := set $cfg "P2P" (dict "V2" $v2) }}
{{- end }}
{{- with $n.evm }}
{{- $_ := set $cfg "EVM" . }}
{{- end }}
{{- $merged := mergeOverwrite $cfg (deepCopy $n.config) }}
{{- $toml := regexReplaceAll "(?m)^(\\s*[A-Za-z0-9_\"'-]+ = -?[0-9]+)\\.0$" (toToml $merged) "${1}" }}
{{- /* Blank lines would come out of nindent as lines of spaces. */}}
{{- regexReplaceAll "\n\n+" $toml "\n" }}
{{- end }}

{{/*
agent.allowedSecrets as JSON, after refusing the Secrets that hold a node's or Helm's credentials: this
release's own, every Secret it mounts into the node, and Helm's release records.
*/}}
{{- define "chainlink-node.agent.allowedSecrets" -}}
{{- $own := list (include "chainlink-node.apiSecretName" .) (include "chainlink-node.secretsName" .) (include "chainlink-node.postgresName" .) }}
{{- $refused := concat $own (include "chainlink-node.mountedSecretNames" . | fromJsonArray) }}
{{- range .Values.agent.allowedSecrets }}
{{- if or (has . $refused) (hasPrefix "sh.helm.release.v1." .) }}
{{- fail (printf "agent.allowedSecrets: %q holds a node's or Helm's own credentials; job specs may never read it" .) }}
{{- end }}
{{- end }}
{{- .Values.agent.allowedSecrets | toJson }}
{{- end }}

{{/* Paths inside the node pod. */}}
{{- define "chainlink-node.credentialsPath" -}}
/chainlink/api/credentials
{{- end }}

{{/*
The agent's environment, the same for the sidecar and the uninstall Job (the contract in the agent's
settings.py: CHAINLINK_AGENT_*).
*/}}
{{- define "chainlink-node.agent.env" -}}
- name: CHAINLINK_AGENT_NODE_NAME
  value: {{ include "chainlink-node.nodeName" . | quote }}
- name: CHAINLINK_AGENT_NODE_LABELS
  value: {{ .Values.nodeLabels | toJson | quote }}
- name: CHAINLINK_AGENT_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: CHAINLINK_AGENT_NODE_URL
  value: {{ printf "http://127.0.0.1:%d" (int .Values.node.api.port) | quote }}
- name: CHAINLINK_AGENT_CREDENTIALS_FILE
  value: {{ include "chainlink-node.credentialsPath" . | quote }}
- name: CHAINLINK_AGENT_RESYNC_SECONDS
  value: {{ .Values.agent.resyncSeconds | toString | quote }}
- name: CHAINLINK_AGENT_CONCURRENCY
  value: {{ .Values.agent.concurrency | toString | quote }}
- name: CHAINLINK_AGENT_HTTP_PORT
  value: {{ .Values.agent.port | toString | quote }}
- name: CHAINLINK_AGENT_LOG_LEVEL
  value: {{ .Values.agent.logLevel | quote }}
- name: CHAINLINK_AGENT_NODE_RATE_LIMIT
  value: {{ .Values.node.api.rateLimit.authenticated | int | toString | quote }}
- name: CHAINLINK_AGENT_NODE_RATE_PERIOD_SECONDS
  value: {{ .Values.node.api.rateLimit.authenticatedPeriodSeconds | int | toString | quote }}
- name: CHAINLINK_AGENT_ALLOWED_SECRETS
  value: {{ include "chainlink-node.agent.allowedSecrets" . | quote }}
- name: CHAINLINK_AGENT_ALLOWED_CONFIG_MAPS
  value: {{ .Values.agent.allowedConfigMaps | toJson | quote }}
{{- with .Values.agent.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The API credentials file, read by the node (--api) and the agent. */}}
{{- define "chainlink-node.apiCredentialsVolume" -}}
- name: api-credentials
  secret:
    secretName: {{ include "chainlink-node.apiSecretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "chainlink-node.apiSecretKey" . }}
        path: credentials
{{- end }}

{{- define "chainlink-node.apiCredentialsMount" -}}
- name: api-credentials
  mountPath: {{ include "chainlink-node.credentialsPath" . | dir }}
  readOnly: true
{{- end }}

{{- define "chainlink-node.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The agent container, as a native sidecar (restartPolicy Always, in initContainers) or a regular one. */}}
{{- define "chainlink-node.agent.container" -}}
{{- $ := .context -}}
- name: agent
  image: {{ include "chainlink-node.agentImage" $ }}
  imagePullPolicy: {{ $.Values.agent.image.pullPolicy }}
  {{- if .sidecar }}
  restartPolicy: Always
  {{- end }}
  command: ["chainlink-agent"]
  env:
    {{- include "chainlink-node.agent.env" $ | nindent 4 }}
    {{- $bundles := include "chainlink-node.importKeysSpec" (dict "context" $ "types" (list "ocr" "ocr2")) }}
    {{- if ne $bundles "[]" }}
    # OCR/OCR2 bundles: the node imports these only through its API, so the agent does (keyimport.py).
    - name: CHAINLINK_AGENT_IMPORT_KEYS
      value: {{ $bundles | quote }}
    {{- end }}
  ports:
    - name: agent-http
      containerPort: {{ $.Values.agent.port }}
      protocol: TCP
  {{- with $.Values.agent.livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.agent.readinessProbe }}
  readinessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml $.Values.agent.resources | nindent 4 }}
  securityContext:
    {{- toYaml $.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "chainlink-node.apiCredentialsMount" $ | nindent 4 }}
    {{- include "chainlink-node.importKeysMounts" (dict "context" $ "types" (list "ocr" "ocr2")) | nindent 4 }}
    # The pod mounts no ServiceAccount token; only the agent gets one (the in-cluster config reads it here).
    - name: agent-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/*
Annotations of the release hook's resources; call with (dict "context" $ "weight" "0"). With the agent it runs
on uninstall (agent.releaseJob.hook); without it, after each upgrade, to free what a disabled agent left. A
failed Job is kept for its logs; the next attempt replaces it.
*/}}
{{- define "chainlink-node.releaseHookAnnotations" -}}
helm.sh/hook: {{ ternary .context.Values.agent.releaseJob.hook "post-upgrade" .context.Values.agent.enabled }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/*
A helm test Pod that GETs one URL and fails on anything but 2xx. Call with
(dict "context" $ "name" "node-health" "url" "http://...").
*/}}
{{- define "chainlink-node.testPod" -}}
{{- $ := .context -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "chainlink-node.componentName" (dict "context" $ "component" (printf "test-%s" .name)) }}
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "chainlink-node.labels" (dict "context" $ "component" "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- with include "chainlink-node.imagePullSecrets" $ }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: curl
      image: {{ include "chainlink-node.image" (dict "image" $.Values.tests.image "default" "") }}
      imagePullPolicy: {{ $.Values.tests.image.pullPolicy }}
      command: ["curl"]
      args: ["--fail", "--silent", "--show-error", "--max-time", "10", "--retry", "6", "--retry-delay", "5", "--retry-all-errors", {{ .url | quote }}]
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          memory: 32Mi
      securityContext:
        {{- toYaml $.Values.containerSecurityContext | nindent 8 }}
{{- end }}

{{/*
"true" when Helm can read the cluster: lookup answers nothing under helm template, helm lint, client-side dry
runs and Argo CD, and a namespace always exists ("default" covers helm install --create-namespace, which
renders before it creates the namespace).
*/}}
{{- define "chainlink-node.clusterVisible" -}}
{{- if or (lookup "v1" "Namespace" "" .Release.Namespace) (lookup "v1" "Namespace" "" "default") }}true{{ end }}
{{- end }}

{{/*
The credentials the chart generates, decided once per render and memoised on the root context, so that
secrets.yaml and the pod's checksum see the same values: the one stored in the cluster, else (first install)
a new random one. JSON with the keys "postgres", "api" and "keystore", each present only when the chart
generates it. A new value while Helm cannot read the cluster would be a new password at every render, which
locks the node out of its database and keystore once applied: that fails unless credentials.generateOffline.
*/}}
{{- define "chainlink-node.generatedCredentials" -}}
{{- if not (hasKey . "chainlinkNodeCredentials") }}
{{- $out := dict }}
{{- $wanted := dict }}
{{- if and (eq (include "chainlink-node.database.mode" .) "embedded") (not .Values.postgresql.auth.existingSecret) }}
{{- $_ := set $wanted "postgres" (include "chainlink-node.existingSecretValue" (dict "context" . "name" (include "chainlink-node.postgresName" .) "key" "password")) }}
{{- end }}
{{- if not .Values.node.api.existingSecret }}
{{- $lines := include "chainlink-node.existingSecretValue" (dict "context" . "name" (include "chainlink-node.apiSecretName" .) "key" "credentials") | splitList "\n" }}
{{- $_ := set $wanted "api" "" }}
{{- if gt (len $lines) 1 }}{{ $_ := set $wanted "api" (index $lines 1) }}{{ end }}
{{- end }}
{{- if not .Values.node.keystore.existingSecret }}
{{- $_ := set $wanted "keystore" (include "chainlink-node.existingSecretValue" (dict "context" . "name" (include "chainlink-node.secretsName" .) "key" "keystore-password")) }}
{{- end }}
{{- range $what, $stored := $wanted }}
{{- if and (not $stored) (not $.Values.credentials.generateOffline) (not (include "chainlink-node.clusterVisible" $)) }}
{{- fail (printf "Helm cannot read the cluster (helm template, helm lint, a client-side dry run or Argo CD), so the generated %s password would be new at every render and lock the node out of its data once applied. Give the Secret yourself (node.api.existingSecret, node.keystore.existingSecret, postgresql.auth.existingSecret), use helm install/upgrade or --dry-run=server, or set credentials.generateOffline=true to render throwaway passwords (linting only)" $what) }}
{{- end }}
{{- $_ := set $out $what ($stored | default (include "chainlink-node.randomPassword" $)) }}
{{- end }}
{{- $_ := set . "chainlinkNodeCredentials" $out }}
{{- end }}
{{- toJson .chainlinkNodeCredentials }}
{{- end }}

{{/* Names of the existing Secrets the node and agent containers mount or read through env. */}}
{{- define "chainlink-node.mountedSecretNames" -}}
{{- $v := .Values }}
{{- $names := compact (list $v.node.api.existingSecret $v.node.keystore.existingSecret $v.postgresql.auth.existingSecret $v.externalDatabase.existingSecret) }}
{{- range concat $v.node.extraConfigFromSecrets $v.node.extraSecretsFromSecrets }}{{ $names = append $names .name }}{{ end }}
{{- range $v.node.importKeys }}{{ $names = append $names .secretName }}{{ end }}
{{- $names | uniq | toJson }}
{{- end }}

{{/*
checksum/secrets covers what the pod really mounts: the generated credentials (stable once stored, and the
same values secrets.yaml renders on a first install), the values rendered into the chart's Secrets, and the
data of every existing Secret it names, so rotating one of those rolls the pod at the next upgrade.
*/}}
{{- define "chainlink-node.secretsChecksum" -}}
{{- $v := .Values }}
{{- $existing := dict }}
{{- range (include "chainlink-node.mountedSecretNames" . | fromJsonArray) }}
{{- $_ := set $existing . ((lookup "v1" "Secret" $.Release.Namespace .).data | default dict) }}
{{- end }}
{{- list (include "chainlink-node.generatedCredentials" .) $v.node.api.email $v.node.secretsToml $v.externalDatabase.url $v.postgresql.auth $existing | toJson | sha256sum }}
{{- end }}

{{/*
The node.importKeys entries of some types, with the paths where each key's Secret is mounted, as JSON: eth and
p2p for the keys-toml init container (agent/chainlink_agent/keystoml.py), ocr and ocr2 for the agent, which
imports them through the node's API (keyimport.py). Call with (dict "context" $ "types" (list ...)); "[]"
when there are none.
*/}}
{{- define "chainlink-node.importKeysSpec" -}}
{{- $out := list }}
{{- range $i, $k := .context.Values.node.importKeys }}
{{- if has $k.type $.types }}
{{- $entry := dict "type" $k.type "json" (printf "/chainlink/import-keys/%d/key.json" $i) "password" (printf "/chainlink/import-keys/%d/password" $i) }}
{{- with $k.evmChainID }}{{ $_ := set $entry "evmChainID" (toString .) }}{{ end }}
{{- $out = append $out $entry }}
{{- end }}
{{- end }}
{{- $out | toJson }}
{{- end }}

{{/* Mounts of the node.importKeys Secrets of some types; call as importKeysSpec. */}}
{{- define "chainlink-node.importKeysMounts" -}}
{{- range $i, $k := .context.Values.node.importKeys }}
{{- if has $k.type $.types }}
- name: {{ printf "import-key-%d" $i }}
  mountPath: {{ printf "/chainlink/import-keys/%d" $i }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}
