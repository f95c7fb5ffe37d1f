{{/* Names and labels shared by every template. */}}

{{- define "troupe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
troupe.fullname is the prefix of every resource name. It is cut to 40 characters so that
the longest suffix ("-sidecar-metrics") and a StatefulSet pod ordinal still fit in 63.
*/}}
{{- define "troupe.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "troupe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: troupe
{{- end -}}

{{/* troupe.selectorLabels takes (dict "ctx" $ "component" "placement"). */}}
{{- define "troupe.selectorLabels" -}}
app.kubernetes.io/name: {{ include "troupe.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* troupe.componentLabels takes (dict "ctx" $ "component" "placement"). */}}
{{- define "troupe.componentLabels" -}}
{{ include "troupe.labels" .ctx }}
{{ include "troupe.selectorLabels" . }}
{{- end -}}

{{/* troupe.image takes (dict "ctx" $ "image" .Values.placement.image). */}}
{{- define "troupe.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "troupe.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "troupe.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Placement: the headless Service gives each StatefulSet pod a stable DNS name. */}}
{{- define "troupe.placementName" -}}
{{- printf "%s-placement" (include "troupe.fullname" .) -}}
{{- end -}}

{{/* troupe.placementAddresses lists every placement pod as host:port, comma-separated. */}}
{{- define "troupe.placementAddresses" -}}
{{- $name := include "troupe.placementName" . -}}
{{- $addresses := list -}}
{{- range $i := until (int .Values.placement.replicas) -}}
{{- $host := printf "%s-%d.%s.%s.svc" $name $i $name $.Release.Namespace -}}
{{- $addresses = append $addresses (printf "%s:%d" $host (int $.Values.placement.port)) -}}
{{- end -}}
{{- join "," $addresses -}}
{{- end -}}

{{/* Redis: in-cluster unless an external address is given. */}}
{{- define "troupe.redisInCluster" -}}
{{- if and .Values.redis.enabled (not .Values.redis.externalAddress) -}}true{{- end -}}
{{- end -}}

{{- define "troupe.redisName" -}}
{{- printf "%s-redis" (include "troupe.fullname" .) -}}
{{- end -}}

{{/* troupe.redisAddress is empty when the sidecars use their embedded store. */}}
{{- define "troupe.redisAddress" -}}
{{- if .Values.redis.externalAddress -}}
{{- .Values.redis.externalAddress -}}
{{- else if .Values.redis.enabled -}}
{{- printf "%s.%s.svc:%d" (include "troupe.redisName" .) .Release.Namespace (int .Values.redis.port) -}}
{{- end -}}
{{- end -}}

{{- define "troupe.componentsName" -}}
{{- printf "%s-components" (include "troupe.fullname" .) -}}
{{- end -}}

{{- define "troupe.configName" -}}
{{- printf "%s-config" (include "troupe.fullname" .) -}}
{{- end -}}

{{- define "troupe.apiTokenSecretName" -}}
{{- default (printf "%s-api-token" (include "troupe.fullname" .)) .Values.apiToken.existingSecret -}}
{{- end -}}

{{/* troupe.apiTokenEnv is the token environment of the app and the sidecar. */}}
{{- define "troupe.apiTokenEnv" -}}
{{- if .Values.apiToken.enabled -}}
- name: DAPR_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "troupe.apiTokenSecretName" . }}
      key: dapr-api-token
- name: APP_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "troupe.apiTokenSecretName" . }}
      key: app-api-token
{{- end -}}
{{- end -}}

{{/* troupe.httpProbe takes (dict "path" "/healthz" "port" "healthz"). */}}
{{- define "troupe.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
periodSeconds: 10
timeoutSeconds: 2
failureThreshold: 3
{{- end -}}
