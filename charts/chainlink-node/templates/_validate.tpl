{{/*
Checks no single helper owns: named templates that render nothing or fail, included at the top of statefulset.yaml.
A check of one value stays in the helper that computes it (chainlink-node.nodeName, chainlink-node.database.mode,
...), so every template that uses the value runs it.
*/}}

{{/*
node.importKeys: ETH and P2P keys go in through the node's secrets TOML, which holds one P2P key; OCR and OCR2
bundles only through the node's API, which the agent calls.
*/}}
{{- define "chainlink-node.validate.importKeys" -}}
{{- $p2pImports := 0 }}
{{- range .Values.node.importKeys }}
{{- if eq .type "p2p" }}{{ $p2pImports = add1 $p2pImports }}{{ end }}
{{- if not (or (has .type (list "eth" "p2p")) $.Values.agent.enabled) }}
{{- fail (printf "node.importKeys: %s bundles are imported by the agent, through the node's API: set agent.enabled" .type) }}
{{- end }}
{{- end }}
{{- if gt $p2pImports 1 }}
{{- fail "node.importKeys: the node imports one P2P key at most" }}
{{- end }}
{{- end }}

{{/* An upgrade must not rename the node: its placements, status entries and derived job IDs carry the name. */}}
{{- define "chainlink-node.validate.nodeNameUnchanged" -}}
{{- with lookup "apps/v1" "StatefulSet" .Release.Namespace (include "chainlink-node.fullname" .) }}
{{- $was := index (.spec.template.metadata.labels | default dict) "chainlink-k8s.github.io/node-name" | default "" }}
{{- $now := include "chainlink-node.nodeName" $ }}
{{- if and $was (ne $was $now) }}
{{- fail (printf "nodeName cannot change from %q to %q on an installed release: it names this node's ChainlinkPlacements and status entries on every ChainlinkJob and ChainlinkBridge, and the external IDs of its jobs. Keep nodeName %q (nodeLabels may change freely), or run the new name as a new release" $was $now $was) }}
{{- end }}
{{- end }}
{{- end }}
