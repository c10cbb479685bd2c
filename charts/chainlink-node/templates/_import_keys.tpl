{{/*
The node.importKeys entries of some types, with the paths where each key's Secret is mounted, as JSON: eth and
p2p for the keys-toml init container (agent/chainlink_agent/node/keystoml.py), ocr and ocr2 for the agent, which
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
- name: {{ printf "import-key-%d" $i | quote }}
  mountPath: {{ printf "/chainlink/import-keys/%d" $i }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}
