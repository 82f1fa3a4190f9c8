export * from './sandbox-backend';
export * from './cgroup-driver';
export * from './scheduler';
export * from './function-registry';
export * from './package-resolver';
export * from './secret-provider';
export * from './accounting';
export * from './sandbox-customizer';
export * from './admin-routes';
export * from './invocation-records';
export * from './syscall-names';
export * from './seccomp-filters';
export * from './function-validator';
export * from './disk-quota';
export * from './zygote-suitability';
export * from './zygote-pool';

import { SandboxBackendPoint } from './sandbox-backend';
import { CgroupDriverPoint } from './cgroup-driver';
import { SchedulerPoint } from './scheduler';
import { FunctionRegistryPoint } from './function-registry';
import { PackageResolverPoint } from './package-resolver';
import { SecretProviderPoint } from './secret-provider';
import { AccountingPoint } from './accounting';
import { SandboxCustomizerPoint } from './sandbox-customizer';
import { AdminRoutesPoint } from './admin-routes';
import { InvocationRecordsPoint } from './invocation-records';
import { SyscallNamesPoint } from './syscall-names';
import { SeccompFiltersPoint } from './seccomp-filters';
import { FunctionValidatorPoint } from './function-validator';
import { DiskQuotaPoint } from './disk-quota';
import { ZygoteSuitabilityPoint } from './zygote-suitability';
import { ZygotePoolPoint } from './zygote-pool';

/** Every extension point core defines, in the order the kernel binds them. */
export const EXTENSION_POINTS = [
  CgroupDriverPoint,
  SandboxBackendPoint,
  FunctionRegistryPoint,
  PackageResolverPoint,
  SecretProviderPoint,
  AccountingPoint,
  SandboxCustomizerPoint,
  AdminRoutesPoint,
  InvocationRecordsPoint,
  SyscallNamesPoint,
  SeccompFiltersPoint,
  FunctionValidatorPoint,
  ZygoteSuitabilityPoint,
  ZygotePoolPoint,
  DiskQuotaPoint,
  SchedulerPoint,
];
