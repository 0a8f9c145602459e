{{/* The name of every object of a release. */}}
{{- define "archiver.fullname" -}}
{{ .Release.Name }}-{{ .Chart.Name }}
{{- end }}

{{/* Labels on every object; the selector uses the same two. */}}
{{- define "archiver.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The Secret holding tokens, the store URL and S3 credentials: yours, or the chart's. */}}
{{- define "archiver.secretName" -}}
{{- if .Values.archiver.existingSecret -}}
{{ .Values.archiver.existingSecret }}
{{- else -}}
{{ include "archiver.fullname" . }}
{{- end -}}
{{- end }}

{{/* Where the app reaches its sidecar. */}}
{{- define "archiver.localURL" -}}
http://127.0.0.1:{{ .Values.archiver.port }}
{{- end }}

{{/* "true" when the store is the SQLite file on the data volume: no store URL in the chart's Secret. */}}
{{- define "archiver.sqlite" -}}
{{- if not .Values.archiver.store -}}
{{- if not .Values.archiver.existingSecret -}}
true
{{- end -}}
{{- end -}}
{{- end }}
