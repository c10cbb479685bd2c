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

{{/*
The eth and p2p entries of node.importKeys, as importKeysSpec: the keys the node imports itself, from the
secrets TOML the import-keys init container writes. "[]" when there are none.
*/}}
{{- define "chainlink-node.importKeys.tomlSpec" -}}
{{- include "chainlink-node.importKeysSpec" (dict "context" . "types" (list "eth" "p2p")) }}
{{- end }}

{{/*
The import-keys init container: `chainlink-agent keys-toml` writes the eth and p2p keys' secrets TOML to the
imported-keys volume, which the node reads with -s. Call with the root context.
*/}}
{{- define "chainlink-node.importKeys.container" -}}
- name: import-keys
  image: {{ include "chainlink-node.agentImage" . }}
  imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
  command: ["chainlink-agent", "keys-toml", "/chainlink/imported-keys/keys.toml"]
  env:
    - name: CHAINLINK_AGENT_IMPORT_KEYS
      value: {{ include "chainlink-node.importKeys.tomlSpec" . | quote }}
  resources:
    {{- toYaml .Values.agent.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: imported-keys
      mountPath: /chainlink/imported-keys
    {{- include "chainlink-node.importKeysMounts" (dict "context" . "types" (list "eth" "p2p")) | nindent 4 }}
{{- end }}
