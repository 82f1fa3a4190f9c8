import type { DependencyContainer } from 'tsyringe';
import { checkKnobs, type CgroupPolicy, type KnobSource, type KnobSupport } from '../config/cgroup-policy';
import { ConfigError } from '../config/schema-validator';
import { CgroupDriverPoint, type CgroupDriver } from '../extension-points/cgroup-driver';

/** The bound cgroup driver's answer to "can this host apply the key?", when a driver is bound. */
export function knobSupportOf(container: DependencyContainer): KnobSupport | undefined {
  if (!container.isRegistered(CgroupDriverPoint.token, true)) return undefined;
  const driver = container.resolve<CgroupDriver>(CgroupDriverPoint.token);
  return driver.knobSupport?.bind(driver);
}

/**
 * The cgroup keys a function (ol.yaml `cgroup:`) or a request asks for,
 * checked against the operator's policy and the host: canonical v2 values,
 * or a ConfigError naming each bad key and what is allowed.
 */
export function resolveKnobs(asked: Record<string, unknown>, policy: CgroupPolicy, who: KnobSource, container: DependencyContainer, source: string): Record<string, string> {
  if (!Object.keys(asked).length) return {};
  const { knobs, problems } = checkKnobs(asked, policy, who, knobSupportOf(container));
  if (problems.length) throw new ConfigError(source, problems);
  return knobs;
}
