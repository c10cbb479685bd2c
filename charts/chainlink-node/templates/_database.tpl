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

{{- define "chainlink-node.postgresName" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "postgres") }}
{{- end }}

{{- define "chainlink-node.postgresHeadlessName" -}}
{{- include "chainlink-node.componentName" (dict "context" . "component" "postgres-headless") }}
{{- end }}

{{/*
The embedded Postgres StatefulSet's serviceName: its headless Service. The field cannot change, and releases
installed before that Service existed name the ClusterIP one: they keep it (read with lookup).
*/}}
{{- define "chainlink-node.postgresServiceName" -}}
{{- $installed := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "chainlink-node.postgresName" .) }}
{{- dig "spec" "serviceName" "" $installed | default (include "chainlink-node.postgresHeadlessName" .) }}
{{- end }}

{{- define "chainlink-node.postgresSecretName" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "chainlink-node.postgresName" .) }}
{{- end }}

{{- define "chainlink-node.postgresSecretKey" -}}
{{- if .Values.postgresql.auth.existingSecret }}{{ .Values.postgresql.auth.existingSecretKey }}{{ else }}password{{ end }}
{{- end }}

{{/*
The wait-for-database init container (waitForDatabase.*): pg_isready, from the Postgres image, until the
node's database accepts connections. Call with the root context.
*/}}
{{- define "chainlink-node.waitForDatabase.container" -}}
{{- $dbMode := include "chainlink-node.database.mode" . -}}
- name: wait-for-database
  image: {{ include "chainlink-node.postgresImage" . }}
  imagePullPolicy: {{ .Values.postgresql.image.pullPolicy }}
  command:
    - sh
    - -c
    # set -f: the URL form may hold "?", which must not glob.
    - set -f; until pg_isready --timeout=3 $PG_ISREADY_ARGS; do echo "waiting for the database"; sleep 2; done
  env:
    # Without a user libpq looks up the OS user, and the pod's uid has no passwd entry in this image.
    - name: PGUSER
      value: {{ .Values.postgresql.auth.username | quote }}
    {{- if eq $dbMode "embedded" }}
    - name: PG_ISREADY_ARGS
      value: {{ printf "--host=%s --port=5432" (include "chainlink-node.postgresHost" .) | quote }}
    {{- else if eq $dbMode "url" }}
    {{- $url := urlParse .Values.externalDatabase.url }}
    {{- $hostPort := splitList ":" $url.host }}
    - name: PG_ISREADY_ARGS
      value: {{ printf "--host=%s --port=%s" (first $hostPort) (gt (len $hostPort) 1 | ternary (last $hostPort) "5432") | quote }}
    {{- else }}
    # pg_isready takes the whole URL as its dbname; it checks the server, it does not log in.
    - name: DATABASE_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.externalDatabase.existingSecret | quote }}
          key: {{ .Values.externalDatabase.existingSecretKey | quote }}
    - name: PG_ISREADY_ARGS
      value: --dbname=$(DATABASE_URL)
    {{- end }}
  resources:
    {{- toYaml .Values.waitForDatabase.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
{{- end }}
