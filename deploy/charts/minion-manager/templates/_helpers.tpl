{{- define "minion-manager.name" -}}minion-manager{{- end -}}

{{- define "minion-manager.fullname" -}}
{{- if contains "minion-manager" .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-minion-manager" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "minion-manager.serviceAccountName" -}}{{ default (include "minion-manager.fullname" .) .Values.serviceAccount.name }}{{- end -}}

{{- define "minion-manager.eventNamespace" -}}{{ default .Release.Namespace .Values.eventNamespace }}{{- end -}}

{{- define "minion-manager.labels" -}}
app.kubernetes.io/name: minion-manager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "minion-manager.selectorLabels" -}}
app.kubernetes.io/name: minion-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
