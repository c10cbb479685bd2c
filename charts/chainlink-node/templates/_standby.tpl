{{/*
standby (values.yaml standby.*, README "Hot standby"): two pods of the one node on one database. The node's lease
([Database.Lock], core/services/pg/lease_lock.go) lets one run; the other blocks in its database open before its
web server starts, so a waiting standby answers no HTTP at all. The agent beside each node labels its own pod
chainlink-k8s.github.io/role: active once its node's HTTP server answers (standby otherwise), and the API and P2P
Services select that label. Nothing here renders when standby is off.
*/}}

{{/* The label the agent sets on its own pod; the pod template never sets it. */}}
{{- define "chainlink-node.standby.roleLabel" -}}
chainlink-k8s.github.io/role
{{- end }}

{{/* Selector lines the API and P2P Services add with a standby: the active pod only. */}}
{{- define "chainlink-node.standby.activeSelector" -}}
{{ include "chainlink-node.standby.roleLabel" . }}: active
{{- end }}

{{/*
affinity with a podAntiAffinity between the release's node pods (standby.antiAffinity soft: preferred, weight 100;
hard: required), unless affinity already has a podAntiAffinity of the user's. YAML, for fromYaml.
*/}}
{{- define "chainlink-node.standby.affinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) }}
{{- if not (hasKey $affinity "podAntiAffinity") }}
{{- $selector := include "chainlink-node.selectorLabels" (dict "context" . "component" "node") | fromYaml }}
{{- $term := dict "labelSelector" (dict "matchLabels" $selector) "topologyKey" .Values.standby.topologyKey }}
{{- if eq .Values.standby.antiAffinity "hard" }}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) }}
{{- else if eq .Values.standby.antiAffinity "soft" }}
{{- $preferred := dict "weight" 100 "podAffinityTerm" $term }}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list $preferred)) }}
{{- else }}
{{- fail (printf "standby.antiAffinity must be soft or hard, not %q" (toString .Values.standby.antiAffinity)) }}
{{- end }}
{{- end }}
{{- toYaml $affinity }}
{{- end }}

{{/*
One of the node container's probes with a standby: the timing of the node.*Probe value, its handler replaced by
`sh -c` running curl against the node's API port on localhost, where curl's exit code 7 (could not connect:
nothing listens) passes too. Call with (dict "context" $ "probe" .Values.node.livenessProbe "curl" "...").
*/}}
{{- define "chainlink-node.standby.probe" -}}
{{- $timing := omit .probe "httpGet" "tcpSocket" "grpc" "exec" }}
{{- $timeout := int (.probe.timeoutSeconds | default 1) }}
{{- $url := printf "http://127.0.0.1:%d%s" (int .context.Values.node.api.port) .path }}
exec:
  command:
    - sh
    - -c
    - {{ printf "curl %s -m %d %s; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 7 ]" .curl $timeout $url | quote }}
{{- with $timing }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The node container's probes with a standby, in place of node.startupProbe, node.livenessProbe and
node.readinessProbe (whose timing they keep).
*/}}
{{- define "chainlink-node.standby.probes" -}}
# standby: a node waiting for the database lease serves no HTTP at all, for as long as the other
# pod's node holds it (days, maybe). Were it never Ready, the OrderedReady StatefulSet would never
# create pod-1, and a RollingUpdate would wait forever for it. So "nothing listens" (curl exit 7:
# waiting for the lease, or still booting) passes both probes, and there is no startupProbe, which
# would restart a standby that waits longer than it allows. The API and P2P Services select the pod
# the agent labels chainlink-k8s.github.io/role: active, and the API Service only while it is Ready:
# the active pod leaves it when its /readyz fails, and a Ready standby receives nothing.
{{- with .Values.node.livenessProbe }}
# Liveness: any HTTP answer from /health (200 or 207), or nothing listening; a hung server fails.
livenessProbe:
  {{- include "chainlink-node.standby.probe" (dict "context" $ "probe" . "curl" "-s -o /dev/null" "path" "/health") | trim | nindent 2 }}
{{- end }}
{{- with .Values.node.readinessProbe }}
# Readiness: /readyz answers 2xx (the active node, services ready), or nothing listens (a standby).
readinessProbe:
  {{- include "chainlink-node.standby.probe" (dict "context" $ "probe" . "curl" "-sf -o /dev/null" "path" "/readyz") | trim | nindent 2 }}
{{- end }}
{{- end }}
