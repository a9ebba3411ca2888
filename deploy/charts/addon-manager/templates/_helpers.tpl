{{- define "addon-manager.labels" -}}
app.kubernetes.io/name: addon-manager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "addon-manager.selectorLabels" -}}
app.kubernetes.io/name: addon-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
