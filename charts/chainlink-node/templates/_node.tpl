{{/*
The node container (values.yaml node.*, image.*): the chainlink binary with the chart's config and secrets
files, its database URL, its probes (the standby's in their place with standby.enabled, _standby.tpl) and its
mounts. The pod's outline, its volumes and the agent beside it are statefulset.yaml's. Call with the root
context.
*/}}
{{- define "chainlink-node.node.container" -}}
{{- $dbMode := include "chainlink-node.database.mode" . }}
{{- $configDir := "/chainlink/config" }}
{{- $tomlKeys := ne (include "chainlink-node.importKeys.tomlSpec" .) "[]" -}}
- name: node
  image: {{ include "chainlink-node.nodeImage" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["chainlink"]
  # -c and -s belong to the `node` command, -a to `node start` (core/cmd/app.go, shell_local.go).
  # Later -c files override earlier ones; -s files are merged. The keystore password comes from
  # secrets.toml (Password.Keystore) or CL_PASSWORD_KEYSTORE, so `start` needs no --password file.
  args:
    - node
    - -c
    - {{ $configDir }}/config.toml
    - -c
    - {{ $configDir }}/override.toml
    {{- range $i, $ref := .Values.node.extraConfigFromSecrets }}
    - -c
    - {{ printf "/chainlink/extra-config/%d/%s" $i $ref.key }}
    {{- end }}
    - -s
    - /chainlink/secrets/secrets.toml
    {{- range $i, $ref := .Values.node.extraSecretsFromSecrets }}
    - -s
    - {{ printf "/chainlink/extra-secrets/%d/%s" $i $ref.key }}
    {{- end }}
    {{- if $tomlKeys }}
    - -s
    - /chainlink/imported-keys/keys.toml
    {{- end }}
    - start
    - -a
    - {{ include "chainlink-node.credentialsPath" . }}
  env:
    # The CLI keeps its cookie cache under the user cache dir; the root filesystem is read-only.
    - name: XDG_CACHE_HOME
      value: /tmp/.cache
    {{- if eq $dbMode "secret" }}
    - name: CL_DATABASE_URL
      valueFrom:
        secretKeyRef:
          name: {{ .Values.externalDatabase.existingSecret | quote }}
          key: {{ .Values.externalDatabase.existingSecretKey | quote }}
    {{- else if and (eq $dbMode "embedded") .Values.postgresql.auth.existingSecret }}
    - name: CHAINLINK_K8S_DATABASE_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "chainlink-node.postgresSecretName" . | quote }}
          key: {{ include "chainlink-node.postgresSecretKey" . | quote }}
    - name: CL_DATABASE_URL
      value: {{ printf "postgresql://%s:$(CHAINLINK_K8S_DATABASE_PASSWORD)@%s:5432/%s?sslmode=disable" .Values.postgresql.auth.username (include "chainlink-node.postgresHost" .) .Values.postgresql.auth.database | quote }}
    {{- end }}
    {{- with .Values.node.keystore.existingSecret }}
    - name: CL_PASSWORD_KEYSTORE
      valueFrom:
        secretKeyRef:
          name: {{ . | quote }}
          key: {{ $.Values.node.keystore.existingSecretKey | quote }}
    {{- end }}
    {{- with .Values.node.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: api
      containerPort: {{ .Values.node.api.port }}
      protocol: TCP
    {{- if .Values.node.p2p.enabled }}
    - name: p2p
      containerPort: {{ .Values.node.p2p.port }}
      protocol: TCP
    {{- end }}
  {{- if .Values.standby.enabled }}
  {{- include "chainlink-node.standby.probes" . | nindent 2 }}
  {{- else }}
  {{- with .Values.node.startupProbe }}
  startupProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.node.livenessProbe }}
  livenessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.node.readinessProbe }}
  readinessProbe:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  resources:
    {{- toYaml .Values.node.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: {{ $configDir }}
      readOnly: true
    - name: secrets
      mountPath: /chainlink/secrets
      readOnly: true
    {{- include "chainlink-node.apiCredentialsMount" . | nindent 4 }}
    {{- range $i, $ref := .Values.node.extraConfigFromSecrets }}
    - name: {{ printf "extra-config-%d" $i | quote }}
      mountPath: {{ printf "/chainlink/extra-config/%d" $i }}
      readOnly: true
    {{- end }}
    {{- range $i, $ref := .Values.node.extraSecretsFromSecrets }}
    - name: {{ printf "extra-secrets-%d" $i | quote }}
      mountPath: {{ printf "/chainlink/extra-secrets/%d" $i }}
      readOnly: true
    {{- end }}
    {{- if $tomlKeys }}
    - name: imported-keys
      mountPath: /chainlink/imported-keys
      readOnly: true
    {{- end }}
    - name: data
      mountPath: /chainlink/data
    - name: tmp
      mountPath: /tmp
{{- end }}
