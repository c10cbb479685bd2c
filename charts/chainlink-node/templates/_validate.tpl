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

{{/*
An upgrade must not lower the node's version: the node refuses to start on a database that a newer version ran
on ("Application version (x) is lower than database version (y)", core/services/versioning/orm.go CheckVersion),
so the new pod would crash-loop. The running version is the one the agent reports in the release's
ChainlinkNode (GET /v2/build_info); a tag or version that is not x.y.z[-...] is not compared. Needs lookup, so
helm template and GitOps renders do not check; nor does helm rollback, which renders nothing.
*/}}
{{- define "chainlink-node.validate.noDowngrade" -}}
{{- $pattern := "^v?[0-9]+\\.[0-9]+\\.[0-9]+" }}
{{- $tag := toString .Values.image.tag }}
{{- $node := include "chainlink-node.nodeName" . }}
{{- with lookup "chainlink-k8s.github.io/v1alpha1" "ChainlinkNode" .Release.Namespace $node }}
{{- $running := toString (dig "status" "version" "" .) }}
{{- if and (regexMatch $pattern $tag) (regexMatch $pattern $running) (not $.Values.image.allowDowngrade) }}
{{- $new := regexFind $pattern $tag | trimPrefix "v" }}
{{- $old := regexFind $pattern $running | trimPrefix "v" }}
{{- if semverCompare (printf "<%s" $old) $new }}
{{- fail (printf "image.tag %s would lower node %s from version %s (its ChainlinkNode's status.version) to %s: the node refuses a database that a newer version ran on, and would crash-loop. Keep image.tag at %s or higher; to go back, restore the database from a backup taken on %s and set image.allowDowngrade=true" $tag $node $running $new $old $new) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
standby: the agent labels the active pod, which the API and P2P Services select, so there is no standby without
it; and the node panics unless its lease refresh interval is at most half the lease's duration
(core/services/pg/lease_lock.go NewLeaseLock). Renders nothing when standby is off.
*/}}
{{- define "chainlink-node.validate.standby" -}}
{{- if .Values.standby.enabled }}
{{- if not .Values.agent.enabled }}
{{- fail "standby.enabled needs agent.enabled: the agent labels the pod whose node holds the database lease (chainlink-k8s.github.io/role: active), and the API and P2P Services select that label" }}
{{- end }}
{{- $lease := .Values.standby.lease }}
{{- $duration := include "chainlink-node.durationMs" (dict "key" "standby.lease.duration" "value" $lease.duration) | int64 }}
{{- $refresh := include "chainlink-node.durationMs" (dict "key" "standby.lease.refreshInterval" "value" $lease.refreshInterval) | int64 }}
{{- if or (le $refresh 0) (gt (mul 2 $refresh) $duration) }}
{{- fail (printf "standby.lease.refreshInterval (%s) must be more than 0 and at most half of standby.lease.duration (%s): the node panics otherwise (core/services/pg/lease_lock.go)" $lease.refreshInterval $lease.duration) }}
{{- end }}
{{- if hasKey .Values.podLabels (include "chainlink-node.standby.roleLabel" .) }}
{{- fail (printf "podLabels: %s is set by the agent on the pod whose node holds the database lease; the pod template must not set it" (include "chainlink-node.standby.roleLabel" .)) }}
{{- end }}
{{- if hasKey (dig "Database" dict .Values.node.config) "Lock" }}
{{- fail "node.config: with standby.enabled, set the database lease through standby.lease ([Database.Lock] is the chart's: both pods must share one lease, on)" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Milliseconds of a duration written as whole ms, s, m or h ("10s", "1m30s", "500ms"); fails naming the value's key
otherwise. Call with (dict "key" "standby.lease.duration" "value" "10s").
*/}}
{{- define "chainlink-node.durationMs" -}}
{{- $value := toString .value }}
{{- if not (regexMatch "^([0-9]+(ms|s|m|h))+$" $value) }}
{{- fail (printf "%s: %q is not a duration of whole ms, s, m or h (10s, 1m30s)" .key $value) }}
{{- end }}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 }}
{{- $ms := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h)" $value -1 }}
{{- $number := regexFind "^[0-9]+" . }}
{{- $ms = add $ms (mul (atoi $number) (get $units (trimPrefix $number .))) }}
{{- end }}
{{- $ms }}
{{- end }}

{{/*
"true" when admission-policy.yaml renders the agent's ValidatingAdmissionPolicies: the agent on, the policy on,
and Kubernetes 1.30+ (where admissionregistration.k8s.io/v1 serves them). "" otherwise.
*/}}
{{- define "chainlink-node.admissionPolicy.rendered" -}}
{{- if and .Values.agent.enabled .Values.agent.admissionPolicy.enabled (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}true{{ end }}
{{- end }}

{{/*
The admission policy is what holds this node's agent to its own node's ChainlinkPlacements, the Lease and its
Events (RBAC cannot): an agent without it can make every other node's agent delete jobs. So with the agent on
and no policy rendered, the chart renders nothing unless agent.admissionPolicy.allowUnprotected says so.
*/}}
{{- define "chainlink-node.validate.admissionPolicy" -}}
{{- if and .Values.agent.enabled (not (include "chainlink-node.admissionPolicy.rendered" .)) (not .Values.agent.admissionPolicy.allowUnprotected) }}
{{- $why := ternary (printf "this cluster is Kubernetes %s, and ValidatingAdmissionPolicy is GA from 1.30" .Capabilities.KubeVersion.Version) "agent.admissionPolicy.enabled is false" .Values.agent.admissionPolicy.enabled }}
{{- fail (printf "agent.admissionPolicy: the chart would render no admission policy (%s). Without it this node's agent's ServiceAccount can create, rewrite and delete every node's ChainlinkPlacements in the namespace (and through a forged placement make another node's agent delete a job), hold the aggregator's Lease for years and record Events as any node. Install on Kubernetes 1.30+ with agent.admissionPolicy.enabled=true, or accept the risk with agent.admissionPolicy.allowUnprotected=true" $why) }}
{{- end }}
{{- end }}

{{/*
backup and restore (values.yaml backup.*, restore.*): what they need that no helper computing a value checks
(chainlink-node.backup.s3Env checks the store, chainlink-node.backup.recipients the recipients). Renders nothing
while both are off.
*/}}
{{- define "chainlink-node.validate.backup" -}}
{{- if .Values.backup.enabled }}
{{- $_ := include "chainlink-node.backup.s3Env" (dict "context" . "for" "backup.enabled") }}
{{- $_ = include "chainlink-node.backup.recipients" . }}
{{- $maxAge := include "chainlink-node.durationMs" (dict "key" "backup.maxAge" "value" .Values.backup.maxAge) | int64 }}
{{- if lt $maxAge 1000 }}
{{- fail (printf "backup.maxAge (%s) must be at least 1s: twice the schedule's interval, 48h for a daily backup" (toString .Values.backup.maxAge)) }}
{{- end }}
{{- end }}
{{- if .Values.restore.enabled }}
{{- $_ := include "chainlink-node.backup.s3Env" (dict "context" . "for" "restore.enabled") }}
{{- if not .Values.restore.ageIdentitySecret }}
{{- fail "restore.enabled needs restore.ageIdentitySecret: a Secret holding the age identity (AGE-SECRET-KEY-1...) of one of the backup's recipients, under the key restore.ageIdentityKey" }}
{{- end }}
{{- $keystore := .Values.node.keystore.existingSecret }}
{{- if not $keystore }}
{{- fail "restore.enabled needs node.keystore.existingSecret: a Secret holding the restored node's keystore password, which you kept (the keys in the backup are encrypted with it; a new password would leave the node unable to open them)" }}
{{- end }}
{{- if eq $keystore (include "chainlink-node.secretsName" .) }}
{{- fail (printf "node.keystore.existingSecret cannot be %s, the chart's own Secret, which drops its keystore-password key once the password comes from an existing Secret: copy the password into a Secret of your own and name that" $keystore) }}
{{- end }}
{{- with .Values.restore.fromNode }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}
{{- fail (printf "restore.fromNode %q must be a node's name (a DNS label), or empty for this release's nodeName" .) }}
{{- end }}
{{- end }}
{{- if not .Values.restore.key }}
{{- fail "restore.key must be latest or the full object key of a backup" }}
{{- end }}
{{- end }}
{{- end }}
