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

{{/* Where the node and the agent read the API credentials file. */}}
{{- define "chainlink-node.credentialsPath" -}}
/chainlink/api/credentials
{{- end }}

{{/* The API credentials file, read by the node (--api) and the agent. */}}
{{- define "chainlink-node.apiCredentialsVolume" -}}
- name: api-credentials
  secret:
    secretName: {{ include "chainlink-node.apiSecretName" . | quote }}
    defaultMode: 0440
    items:
      - key: {{ include "chainlink-node.apiSecretKey" . | quote }}
        path: credentials
{{- end }}

{{- define "chainlink-node.apiCredentialsMount" -}}
- name: api-credentials
  mountPath: {{ include "chainlink-node.credentialsPath" . | dir }}
  readOnly: true
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
{{- $kept := include "chainlink-node.keptDatabaseVolume" . }}
{{- $secrets := dict "postgres" (include "chainlink-node.postgresName" .) "api" (include "chainlink-node.apiSecretName" .) "keystore" (include "chainlink-node.secretsName" .) }}
{{- $givers := dict "postgres" "postgresql.auth.existingSecret" "api" "node.api.existingSecret" "keystore" "node.keystore.existingSecret" }}
{{- range $what, $stored := $wanted }}
{{- if and (not $stored) $kept }}
{{- fail (printf "the Secret %s that held the node's generated %s password is gone, but its database volume (PersistentVolumeClaim %s) is still there: a new password would lock the node out of its database and keys. Restore the Secret from your backup (or give the password with %s); to start a new node on an empty database instead, delete that PersistentVolumeClaim first" (get $secrets $what) $what $kept (get $givers $what)) }}
{{- end }}
{{- if and (not $stored) (not $.Values.credentials.generateOffline) (not (include "chainlink-node.clusterVisible" $)) }}
{{- fail (printf "Helm cannot read the cluster (helm template, helm lint, a client-side dry run or Argo CD), so the generated %s password would be new at every render and lock the node out of its data once applied. Give the Secret yourself (node.api.existingSecret, node.keystore.existingSecret, postgresql.auth.existingSecret), use helm install/upgrade or --dry-run=server, or set credentials.generateOffline=true to render throwaway passwords (linting only)" $what) }}
{{- end }}
{{- $_ := set $out $what ($stored | default (include "chainlink-node.randomPassword" $)) }}
{{- end }}
{{- $_ := set . "chainlinkNodeCredentials" $out }}
{{- end }}
{{- toJson .chainlinkNodeCredentials }}
{{- end }}

{{/*
The embedded database's volume, when it outlived its Secrets (both are kept by helm uninstall; a person or a
tool deleted the Secret): its PersistentVolumeClaim's name, else "". Empty under helm template (no lookup).
*/}}
{{- define "chainlink-node.keptDatabaseVolume" -}}
{{- if eq (include "chainlink-node.database.mode" .) "embedded" }}
{{- $claim := printf "data-%s-0" (include "chainlink-node.postgresName" .) }}
{{- if lookup "v1" "PersistentVolumeClaim" .Release.Namespace $claim }}{{ $claim }}{{ end }}
{{- end }}
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
