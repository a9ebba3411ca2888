{{- define "active-monitor.labels" -}}
app.kubernetes.io/name: active-monitor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "active-monitor.selectorLabels" -}}
app.kubernetes.io/name: active-monitor
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
