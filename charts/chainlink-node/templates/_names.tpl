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
app.kubernetes.io/name: {{ include "chainlink-node.name" .context | quote }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end }}

{{- define "chainlink-node.labels" -}}
helm.sh/chart: {{ include "chainlink-node.chart" .context | quote }}
{{ include "chainlink-node.selectorLabels" . }}
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service | quote }}
app.kubernetes.io/part-of: chainlink-k8s
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The node's identity for ChainlinkJob targets; its placements carry it in the label chainlink-k8s.github.io/node.
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
chainlink-k8s.github.io/node-name: {{ include "chainlink-node.nodeName" . | quote }}
{{- range $key, $value := .Values.nodeLabels }}
{{- if regexMatch "^(app\\.kubernetes\\.io|helm\\.sh|chainlink-k8s\\.github\\.io)/" $key }}
{{- fail (printf "nodeLabels: %q is reserved for the chart's own labels; choose another key" $key) }}
{{- end }}
{{ $key | quote }}: {{ $value | quote }}
{{- end }}
{{- end }}
