{{- define "chainlink-node.serviceAccountName" -}}
{{- if and .Values.agent.enabled .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "chainlink-node.componentName" (dict "context" . "component" "agent")) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/*
"true" when the agent runs as a native sidecar (an init container with restartPolicy: Always, 1.29+), "" when it
runs as a regular container. agent.nativeSidecar: auto decides from the cluster's version.
*/}}
{{- define "chainlink-node.agent.nativeSidecar" -}}
{{- $mode := toString .Values.agent.nativeSidecar }}
{{- if eq $mode "auto" }}
{{- if semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version }}true{{ end }}
{{- else if eq $mode "true" }}true
{{- end }}
{{- end }}

{{/*
agent.allowedSecrets as JSON, after refusing the Secrets that hold a node's or Helm's credentials: this
release's own, every Secret it mounts into the node, and Helm's release records.
*/}}
{{- define "chainlink-node.agent.allowedSecrets" -}}
{{- $own := list (include "chainlink-node.apiSecretName" .) (include "chainlink-node.secretsName" .) (include "chainlink-node.postgresName" .) }}
{{- $refused := concat $own (include "chainlink-node.mountedSecretNames" . | fromJsonArray) }}
{{- range .Values.agent.allowedSecrets }}
{{- if or (has . $refused) (hasPrefix "sh.helm.release.v1." .) }}
{{- fail (printf "agent.allowedSecrets: %q holds a node's or Helm's own credentials; job specs may never read it" .) }}
{{- end }}
{{- end }}
{{- .Values.agent.allowedSecrets | toJson }}
{{- end }}

{{/*
The agent's environment, the same for the sidecar and the uninstall Job (the contract in the agent's
settings.py: CHAINLINK_AGENT_*).
*/}}
{{- define "chainlink-node.agent.env" -}}
- name: CHAINLINK_AGENT_NODE_NAME
  value: {{ include "chainlink-node.nodeName" . | quote }}
- name: CHAINLINK_AGENT_NODE_LABELS
  value: {{ .Values.nodeLabels | toJson | quote }}
- name: CHAINLINK_AGENT_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: CHAINLINK_AGENT_NODE_URL
  value: {{ printf "http://127.0.0.1:%d" (int .Values.node.api.port) | quote }}
- name: CHAINLINK_AGENT_CREDENTIALS_FILE
  value: {{ include "chainlink-node.credentialsPath" . | quote }}
- name: CHAINLINK_AGENT_RESYNC_SECONDS
  value: {{ .Values.agent.resyncSeconds | toString | quote }}
- name: CHAINLINK_AGENT_REPORT_SECONDS
  value: {{ .Values.agent.reportSeconds | toString | quote }}
- name: CHAINLINK_AGENT_CONCURRENCY
  value: {{ .Values.agent.concurrency | toString | quote }}
- name: CHAINLINK_AGENT_HTTP_PORT
  value: {{ .Values.agent.port | toString | quote }}
- name: CHAINLINK_AGENT_LOG_LEVEL
  value: {{ .Values.agent.logLevel | quote }}
- name: CHAINLINK_AGENT_NODE_RATE_LIMIT
  value: {{ .Values.node.api.rateLimit.authenticated | int | toString | quote }}
- name: CHAINLINK_AGENT_NODE_RATE_PERIOD_SECONDS
  value: {{ .Values.node.api.rateLimit.authenticatedPeriodSeconds | int | toString | quote }}
- name: CHAINLINK_AGENT_ALLOWED_SECRETS
  value: {{ include "chainlink-node.agent.allowedSecrets" . | quote }}
- name: CHAINLINK_AGENT_ALLOWED_CONFIG_MAPS
  value: {{ .Values.agent.allowedConfigMaps | toJson | quote }}
{{- if include "chainlink-node.admissionPolicy.rendered" . }}
# Not ready while its self-test finds the chart's admission policy not enforced (admission.py).
- name: CHAINLINK_AGENT_ADMISSION_POLICY_REQUIRED
  value: "true"
{{- end }}
{{- with .Values.agent.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The agent container, as a native sidecar (restartPolicy Always, in initContainers) or a regular one. */}}
{{- define "chainlink-node.agent.container" -}}
{{- $ := .context -}}
- name: agent
  image: {{ include "chainlink-node.agentImage" $ }}
  imagePullPolicy: {{ $.Values.agent.image.pullPolicy }}
  {{- if .sidecar }}
  restartPolicy: Always
  {{- end }}
  command: ["chainlink-agent"]
  env:
    {{- include "chainlink-node.agent.env" $ | nindent 4 }}
    {{- if $.Values.standby.enabled }}
    # standby: the agent labels this pod with its node's role (chainlink-k8s.github.io/role: active or standby).
    - name: CHAINLINK_AGENT_STANDBY
      value: "true"
    - name: CHAINLINK_AGENT_POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    {{- end }}
    {{- if $.Values.backup.enabled }}
    # backup.enabled: the agent exports when the last backup succeeded (the ChainlinkBackupMissing alert).
    - name: CHAINLINK_AGENT_BACKUP_ENABLED
      value: "true"
    {{- end }}
    {{- $bundles := include "chainlink-node.importKeysSpec" (dict "context" $ "types" (list "ocr" "ocr2")) }}
    {{- if ne $bundles "[]" }}
    # OCR/OCR2 bundles: the node imports these only through its API, so the agent does (keyimport.py).
    - name: CHAINLINK_AGENT_IMPORT_KEYS
      value: {{ $bundles | quote }}
    {{- end }}
  ports:
    - name: agent-http
      containerPort: {{ $.Values.agent.port }}
      protocol: TCP
  {{- with $.Values.agent.livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.agent.readinessProbe }}
  readinessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml $.Values.agent.resources | nindent 4 }}
  securityContext:
    {{- toYaml $.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "chainlink-node.apiCredentialsMount" $ | nindent 4 }}
    {{- include "chainlink-node.importKeysMounts" (dict "context" $ "types" (list "ocr" "ocr2")) | nindent 4 }}
    # The pod mounts no ServiceAccount token; only the agent gets one (the in-cluster config reads it here).
    - name: agent-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/*
Annotations of the release hook's resources; call with (dict "context" $ "weight" "0"). With the agent it runs
on uninstall (agent.releaseJob.hook); without it, after each upgrade, to free what a disabled agent left. A
failed Job is kept for its logs; the next attempt replaces it.
*/}}
{{- define "chainlink-node.releaseHookAnnotations" -}}
helm.sh/hook: {{ ternary .context.Values.agent.releaseJob.hook "post-upgrade" .context.Values.agent.enabled }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
