{{/*
A helm test Pod that GETs one URL and fails on anything but 2xx. Call with
(dict "context" $ "name" "node-health" "url" "http://...").
*/}}
{{- define "chainlink-node.testPod" -}}
{{- $ := .context -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "chainlink-node.componentName" (dict "context" $ "component" (printf "test-%s" .name)) | quote }}
  namespace: {{ $.Release.Namespace | quote }}
  labels:
    {{- include "chainlink-node.labels" (dict "context" $ "component" "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- with include "chainlink-node.imagePullSecrets" $ }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: curl
      image: {{ include "chainlink-node.image" (dict "image" $.Values.tests.image "default" "") }}
      imagePullPolicy: {{ $.Values.tests.image.pullPolicy }}
      command: ["curl"]
      {{- /* With a standby `helm --wait` waits for no pod (Helm skips OnDelete StatefulSets), so the test waits
      for the node itself, up to about three minutes. */}}
      args: ["--fail", "--silent", "--show-error", "--max-time", "10", "--retry", {{ ternary "30" "6" $.Values.standby.enabled | quote }}, "--retry-delay", "5", "--retry-all-errors", {{ .url | quote }}]
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          memory: 32Mi
      securityContext:
        {{- toYaml $.Values.containerSecurityContext | nindent 8 }}
{{- end }}
