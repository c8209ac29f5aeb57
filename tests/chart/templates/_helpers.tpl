{{/* Chart name and version, as used by the helm.sh/chart label. */}}
{{- define "obs-stack.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every object of the release. */}}
{{- define "obs-stack.labels" -}}
helm.sh/chart: {{ include "obs-stack.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: obs-stack
{{- end }}

{{/* Selector labels for one component; call with (dict "ctx" $ "name" "grafana"). */}}
{{- define "obs-stack.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end }}
