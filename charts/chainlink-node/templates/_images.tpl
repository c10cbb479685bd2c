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
{{- include "chainlink-node.image" (dict "image" .Values.agent.image "default" .Chart.Version) }}
{{- end }}

{{- define "chainlink-node.postgresImage" -}}
{{- include "chainlink-node.image" (dict "image" .Values.postgresql.image "default" "") }}
{{- end }}

{{- define "chainlink-node.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
