{{- define "instance-manager.labels" -}}
app.kubernetes.io/name: instance-manager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "instance-manager.selectorLabels" -}}
app.kubernetes.io/name: instance-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
