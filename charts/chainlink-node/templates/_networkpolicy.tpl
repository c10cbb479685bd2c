{{/*
NetworkPolicies (values.yaml networkPolicy.*, networkpolicy.yaml). Ingress is always limited; egress only with
networkPolicy.egress.enabled, for namespaces that deny it by default.
*/}}

{{/* policyTypes of a policy that limits ingress, and egress when asked. */}}
{{- define "chainlink-node.networkPolicy.types" -}}
{{- if .Values.networkPolicy.egress.enabled }}["Ingress", "Egress"]{{ else }}["Ingress"]{{ end }}
{{- end }}

{{/*
Egress rules to the destinations named in .to, of: "dns", "apiServer", "database" (the embedded Postgres; an
external one is the user's to list in rules), "node" (its API and agent ports) and "rules"
(networkPolicy.egress.rules). Call with (dict "context" $ "to" (list "dns" "apiServer")).
*/}}
{{- define "chainlink-node.networkPolicy.egress" -}}
{{- $ := .context }}
{{- $egress := $.Values.networkPolicy.egress }}
{{- if has "dns" .to }}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
  {{- with $egress.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if has "apiServer" .to }}
- ports:
    {{- range $egress.apiServer.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with $egress.apiServer.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if and (has "database" .to) (eq (include "chainlink-node.database.mode" $) "embedded") }}
- ports:
    - port: 5432
      protocol: TCP
  to:
    - podSelector:
        matchLabels:
          {{- include "chainlink-node.selectorLabels" (dict "context" $ "component" "postgres") | nindent 10 }}
{{- end }}
{{- if has "node" .to }}
- ports:
    - port: {{ $.Values.node.api.port }}
      protocol: TCP
    {{- if $.Values.agent.enabled }}
    - port: {{ $.Values.agent.port }}
      protocol: TCP
    {{- end }}
  to:
    - podSelector:
        matchLabels:
          {{- include "chainlink-node.selectorLabels" (dict "context" $ "component" "node") | nindent 10 }}
{{- end }}
{{- if has "rules" .to }}
{{- with $egress.rules }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The policy of a pod that serves nothing (helm tests, backups, the release Job): no ingress, and with egress on
only the destinations in .to. Call with (dict "context" $ "name" NAME "component" "test" "to" (list ...)), and
"annotations" (YAML) for a hook's.
*/}}
{{- define "chainlink-node.networkPolicy.client" -}}
{{- $ := .context -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .name | quote }}
  namespace: {{ $.Release.Namespace | quote }}
  labels:
    {{- include "chainlink-node.labels" (dict "context" $ "component" .component) | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  podSelector:
    matchLabels:
      {{- include "chainlink-node.selectorLabels" (dict "context" $ "component" .component) | nindent 6 }}
  policyTypes: {{ include "chainlink-node.networkPolicy.types" $ }}
  {{- if $.Values.networkPolicy.egress.enabled }}
  egress:
    {{- include "chainlink-node.networkPolicy.egress" (dict "context" $ "to" .to) | nindent 4 }}
  {{- end }}
{{- end }}
