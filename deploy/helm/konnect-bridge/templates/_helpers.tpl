{{/* The chart's name, and the release's full name for its objects. */}}
{{- define "konnect-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "konnect-bridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "konnect-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "konnect-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "konnect-bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "konnect-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Refuses values that would give a bridge that bills nothing or leaks the
token: the chart only ever names a Secret, and the sandbox is chosen
explicitly.
*/}}
{{- define "konnect-bridge.validate" -}}
{{- if not .Values.nats.url }}
{{- fail "nats.url is required: the NATS server the bridge consumes from, e.g. --set nats.url=nats://nats.nats.svc:4222" }}
{{- end }}
{{- if and .Values.sandbox .Values.konnect.existingSecret }}
{{- fail "sandbox=true and konnect.existingSecret are both set: choose one (the sandbox bills nothing; the Secret's token bills through Konnect)" }}
{{- end }}
{{- if and (not .Values.sandbox) (not .Values.konnect.existingSecret) }}
{{- fail "konnect.existingSecret is required: the name of a Secret holding the Konnect token (kubectl create secret generic konnect-token --from-literal=token=spat_...; then --set konnect.existingSecret=konnect-token). To try the chart without Konnect, set sandbox=true: it bills nothing" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not .Values.autoscaling.natsServerMonitoringEndpoint) }}
{{- fail "autoscaling.natsServerMonitoringEndpoint is required when autoscaling.enabled: the NATS monitoring address host:port (e.g. nats.nats.svc:8222) that KEDA reads the consumer's lag from" }}
{{- end }}
{{- if le (int .Values.bridge.shutdownTimeoutSeconds) 0 }}
{{- fail "bridge.shutdownTimeoutSeconds must be a positive number of seconds" }}
{{- end }}
{{- if le (int .Values.bridge.terminationMarginSeconds) 0 }}
{{- fail "bridge.terminationMarginSeconds must be positive: Kubernetes must wait longer than the bridge's own shutdown deadline" }}
{{- end }}
{{- end }}
