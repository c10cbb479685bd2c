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
