{{/*
config.toml from structured values. The node's own defaults apply to anything not set here; node.config is
merged over the chart's choices and node.configOverride (raw TOML) is a second -c file applied last.
Helm reads every YAML number as a float, and the node's decoder refuses 6688.0 for an integer field, so
integral floats are written back as integers.
*/}}
{{- define "chainlink-node.configToml" -}}
{{- $n := .Values.node }}
{{- /* RootDir is a directory the node makes itself, inside the volume: the node chmods an existing RootDir to
0700 (core/utils/files.go EnsureDirAndMaxPerms), which its uid may not do on a volume's root (root-owned,
group fsGroup). */}}
{{- $cfg := dict
  "RootDir" "/chainlink/data/root"
  "Log" (dict "Level" $n.logLevel "JSONConsole" $n.jsonLogs "File" (dict "MaxSize" "0b"))
  "WebServer" (dict "HTTPPort" (int $n.api.port) "SecureCookies" $n.api.secureCookies "RateLimit" (dict "Authenticated" (int $n.api.rateLimit.authenticated) "AuthenticatedPeriod" (printf "%ds" (int $n.api.rateLimit.authenticatedPeriodSeconds))))
}}
{{- /* The agent paces itself to these same figures (its CHAINLINK_AGENT_NODE_RATE_* env): one value each. */}}
{{- $rate := dig "WebServer" "RateLimit" dict $n.config }}
{{- if or (hasKey $rate "Authenticated") (hasKey $rate "AuthenticatedPeriod") }}
{{- fail "node.config: set WebServer.RateLimit.Authenticated and AuthenticatedPeriod through node.api.rateLimit, so the agent paces itself to the same figures" }}
{{- end }}
{{- if $n.p2p.enabled }}
{{- $v2 := dict "Enabled" true "ListenAddresses" (list (printf "0.0.0.0:%d" (int $n.p2p.port))) }}
{{- with $n.p2p.announceAddresses }}
{{- $_ := set $v2 "AnnounceAddresses" . }}
{{- end }}
{{- $_ := set $cfg "P2P" (dict "V2" $v2) }}
{{- end }}
{{- with $n.evm }}
{{- $_ := set $cfg "EVM" . }}
{{- end }}
{{- /* standby: both pods take turns on one database through the node's lease, which the chart alone sets
(chainlink-node.validate.standby refuses [Database.Lock] in node.config). */}}
{{- if .Values.standby.enabled }}
{{- $lock := dict "LeaseDuration" .Values.standby.lease.duration "LeaseRefreshInterval" .Values.standby.lease.refreshInterval }}
{{- $_ := set $cfg "Database" (dict "Lock" $lock) }}
{{- end }}
{{- $merged := mergeOverwrite $cfg (deepCopy $n.config) }}
{{- $toml := regexReplaceAll "(?m)^(\\s*[A-Za-z0-9_\"'-]+ = -?[0-9]+)\\.0$" (toToml $merged) "${1}" }}
{{- /* Blank lines would come out of nindent as lines of spaces. */}}
{{- regexReplaceAll "\n\n+" $toml "\n" }}
{{- end }}
