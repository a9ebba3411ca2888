{{- define "upgrade-manager.labels" -}}
app.kubernetes.io/name: upgrade-manager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
{{- define "upgrade-manager.selector" -}}
app.kubernetes.io/name: upgrade-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
