/**
 * The public API of OL Kernel's core: everything a plugin may import.
 * Built-in plugins import from here only (`../../core`), never from deeper
 * paths, so that a third-party plugin can do exactly what they do.
 */
import 'reflect-metadata';

export { injectable, inject, singleton } from 'tsyringe';
export { CORE_API_VERSION } from './api-version';
export { definePlugin } from './plugin/plugin';
export type { PluginManifest, PluginContext, ProviderClass } from './plugin/plugin';
export { defineExtensionPoint } from './plugin/extension-point';
export type { ExtensionPoint, CombineKind, Probeable } from './plugin/extension-point';
export { PluginError } from './plugin/plugin-error';
export { Tokens } from './di/tokens';
export * from './extension-points';
export type { ResourceLimits } from './functions/resource-limits';
export type { FunctionConfig, FunctionSource, LoadedFunction, SecretMode, SecretRequest } from './functions/function-config';
export type { Invocation, InvocationOutcome, InvocationFailure, FailureKind, CapturedOutput, InvocationUsage, OutcomeExtras } from './invoke/invocation';
export type { WorkerPaths } from './lifecycle/worker-paths';
export type { FunctionLoader } from './functions/function-loader';
export type { WorkerConfig } from './config/worker-config';
export type { Logger } from './log/logger';
export { Metrics, LATENCY_BUCKETS, cgroupOpObserver } from './metrics/metrics';
export type { Counter, Gauge, Histogram } from 'prom-client';
export { ConfigError } from './config/schema-validator';
export * from './util/wait-for-file';
export * from './util/slow-op';
export * from './util/cgroup-fs';
export * from './util/cgroup-driver-base';
export * from './util/usage-window';
export * from './util/quota-customizer';
export * from './util/cgroup-keys';
export * from './util/budgets';
export * from './util/local-packages';
export * from './util/run-tool';
export * from './util/single-flight';
export { checkKnobs, describeRange, type CgroupPolicy, type CgroupKeyPolicy, type KnobSource } from './config/cgroup-policy';
