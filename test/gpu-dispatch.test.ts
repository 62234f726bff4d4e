/**
 * The WGSL binding declarations shared by the src/gpu kernels: inputs, outputs and the uniform
 * struct numbered in the order runGpu binds them.
 */
import { describe, expect, test } from 'vitest'
import { wgslBindings } from '../src/gpu/_dispatch.js'

describe('wgslBindings', () => {
  test('read buffers, then read_write buffers, then the uniform struct, numbered from 0', () => {
    expect(
      wgslBindings({
        read: ['x: f32', 'ids: i32'],
        readWrite: ['y: vec4f', 'bad: atomic<u32>'],
        uniform: 'n: u32, eps: f32',
      }),
    ).toBe(
      [
        '@group(0) @binding(0) var<storage, read> x: array<f32>;',
        '@group(0) @binding(1) var<storage, read> ids: array<i32>;',
        '@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;',
        '@group(0) @binding(3) var<storage, read_write> bad: array<atomic<u32>>;',
        'struct U { n: u32, eps: f32 }',
        '@group(0) @binding(4) var<uniform> u: U;',
      ].join('\n'),
    )
  })

  test('no read buffers: the outputs start at binding 0', () => {
    expect(wgslBindings({ readWrite: ['y: f32'], uniform: 'n: u32' })).toBe(
      '@group(0) @binding(0) var<storage, read_write> y: array<f32>;\nstruct U { n: u32 }\n@group(0) @binding(1) var<uniform> u: U;',
    )
  })
})
