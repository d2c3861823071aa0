//! The data volume (`EDGE_DATA_VOL_*` keys, shared by the upstream Allora and Theta
//! blueprints) and the Amazon EBS limits it is checked against.
//!
//! Limits, from the Amazon EC2 API Reference, CreateVolume (`Size`, `Iops`, `Throughput`) and
//! the Amazon EBS User Guide, "Amazon EBS volume types" (gp3 limits as raised in September
//! 2025: 64 TiB, 80,000 IOPS, 2,000 MiB/s; older stored copies of those pages still say
//! 16 TiB, 16,000 IOPS and 1,000 MiB/s):
//!
//! | type | size (GiB)  | IOPS            | IOPS per GiB | throughput (MiB/s)               |
//! |------|-------------|-----------------|--------------|----------------------------------|
//! | gp3  | 1 to 65,536 | 3,000 to 80,000 | 500          | 125 to 2,000, ≤ 0.25 per IOPS    |
//! | io1  | 4 to 16,384 | 100 to 64,000   | 50           | not settable                     |
//! | io2  | 4 to 65,536 | 100 to 256,000  | 1,000        | not settable                     |
//!
//! gp3's 3,000 IOPS and 125 MiB/s baseline is included at any size, so the per-GiB and
//! per-IOPS ratios only limit values above the baseline.

use super::validate::InstanceType;
use super::Reader;

/// The data volume type (`EDGE_DATA_VOL_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeType {
    /// General Purpose SSD gp3.
    Gp3,
    /// Provisioned IOPS SSD io1.
    Io1,
    /// Provisioned IOPS SSD io2 (Block Express).
    Io2,
    /// No EBS volume: the instance's NVMe instance store is formatted and mounted at `/data`.
    InstanceStore,
}

impl VolumeType {
    /// The `.env` / CloudFormation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Gp3 => "gp3",
            VolumeType::Io1 => "io1",
            VolumeType::Io2 => "io2",
            VolumeType::InstanceStore => "instance-store",
        }
    }
}

/// A validated data volume configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVolume {
    /// The volume type.
    pub kind: VolumeType,
    /// Size in GiB (unused for instance-store).
    pub size_gib: i64,
    /// Provisioned IOPS (unused for instance-store).
    pub iops: i64,
    /// Provisioned throughput in MiB/s (gp3 only).
    pub throughput_mibps: i64,
}

struct Limits {
    size: (i64, i64),
    iops: (i64, i64),
    iops_per_gib: i64,
    baseline_iops: i64,
}

fn limits(kind: VolumeType) -> Limits {
    match kind {
        VolumeType::Gp3 => Limits {
            size: (1, 65_536),
            iops: (3_000, 80_000),
            iops_per_gib: 500,
            baseline_iops: 3_000,
        },
        VolumeType::Io1 => Limits {
            size: (4, 16_384),
            iops: (100, 64_000),
            iops_per_gib: 50,
            baseline_iops: 0,
        },
        VolumeType::Io2 | VolumeType::InstanceStore => Limits {
            size: (4, 65_536),
            iops: (100, 256_000),
            iops_per_gib: 1_000,
            baseline_iops: 0,
        },
    }
}

const CITE: &str = "Amazon EC2 API Reference, CreateVolume";

/// Reads and checks `EDGE_DATA_VOL_TYPE`, `_SIZE`, `_IOPS` and `_THROUGHPUT`.
pub fn read(reader: &mut Reader) -> Option<DataVolume> {
    let kind = match reader
        .choice(
            "EDGE_DATA_VOL_TYPE",
            &["gp3", "io1", "io2", "instance-store"],
        )?
        .as_str()
    {
        "gp3" => VolumeType::Gp3,
        "io1" => VolumeType::Io1,
        "io2" => VolumeType::Io2,
        _ => VolumeType::InstanceStore,
    };
    let size = reader.integer("EDGE_DATA_VOL_SIZE", 1..=i64::from(i32::MAX), " GiB");
    let iops = reader.integer("EDGE_DATA_VOL_IOPS", 1..=i64::from(i32::MAX), " IOPS");
    let throughput = reader.integer(
        "EDGE_DATA_VOL_THROUGHPUT",
        1..=i64::from(i32::MAX),
        " MiB/s",
    );
    let (size, iops, throughput) = (size?, iops?, throughput?);
    let volume = DataVolume {
        kind,
        size_gib: size,
        iops,
        throughput_mibps: throughput,
    };
    if kind == VolumeType::InstanceStore {
        return Some(volume);
    }
    let name = kind.as_str();
    let limit = limits(kind);
    let mut ok = true;
    let setting = |reader: &Reader, key: &str| reader.setting(key).expect("has a default").source;

    if !(limit.size.0..=limit.size.1).contains(&size) {
        let source = setting(reader, "EDGE_DATA_VOL_SIZE");
        reader.issue(
            "EDGE_DATA_VOL_SIZE",
            &source,
            format!(
                "{size} GiB is out of range for {name}: {name} volumes take {} to {} GiB",
                limit.size.0, limit.size.1
            ),
            format!(
                "use a size from {} to {} GiB ({CITE}, Size)",
                limit.size.0, limit.size.1
            ),
        );
        ok = false;
    }
    if !(limit.iops.0..=limit.iops.1).contains(&iops) {
        let source = setting(reader, "EDGE_DATA_VOL_IOPS");
        reader.issue(
            "EDGE_DATA_VOL_IOPS",
            &source,
            format!(
                "{iops} IOPS is out of range for {name}: {name} volumes take {} to {} IOPS",
                limit.iops.0, limit.iops.1
            ),
            format!(
                "use a value from {} to {} ({CITE}, Iops)",
                limit.iops.0, limit.iops.1
            ),
        );
        ok = false;
    }
    let max_iops = (limit.iops_per_gib * size).max(limit.baseline_iops);
    if ok && iops > max_iops {
        let source = setting(reader, "EDGE_DATA_VOL_IOPS");
        let needed = (iops + limit.iops_per_gib - 1) / limit.iops_per_gib;
        reader.issue(
            "EDGE_DATA_VOL_IOPS",
            &source,
            format!(
                "{iops} IOPS is too many for a {size} GiB {name} volume: at most {} IOPS per GiB, \
                 so at most {max_iops} IOPS",
                limit.iops_per_gib
            ),
            format!(
                "raise EDGE_DATA_VOL_SIZE to at least {needed} GiB or lower EDGE_DATA_VOL_IOPS \
                 (Amazon EBS User Guide, volume types: {} IOPS per GiB for {name})",
                limit.iops_per_gib
            ),
        );
        ok = false;
    }
    if kind == VolumeType::Gp3 {
        if !(125..=2_000).contains(&throughput) {
            let source = setting(reader, "EDGE_DATA_VOL_THROUGHPUT");
            reader.issue(
                "EDGE_DATA_VOL_THROUGHPUT",
                &source,
                format!(
                    "{throughput} MiB/s is out of range for gp3: gp3 volumes take 125 to 2000 MiB/s"
                ),
                format!("use a value from 125 to 2000 ({CITE}, Throughput)"),
            );
            ok = false;
        }
        let max_throughput = (iops / 4).max(125);
        if ok && throughput > max_throughput {
            let source = setting(reader, "EDGE_DATA_VOL_THROUGHPUT");
            reader.issue(
                "EDGE_DATA_VOL_THROUGHPUT",
                &source,
                format!(
                    "{throughput} MiB/s is too much for {iops} IOPS: gp3 allows at most 0.25 MiB/s \
                     per provisioned IOPS, so at most {max_throughput} MiB/s"
                ),
                format!(
                    "raise EDGE_DATA_VOL_IOPS to at least {} or lower EDGE_DATA_VOL_THROUGHPUT \
                     (Amazon EBS User Guide, volume types: gp3)",
                    throughput * 4
                ),
            );
            ok = false;
        }
    } else if reader.is_set("EDGE_DATA_VOL_THROUGHPUT") && throughput != 125 {
        reader.warn(format!(
            "EDGE_DATA_VOL_THROUGHPUT={throughput} is ignored: only gp3 volumes take a \
             throughput, {name} volumes do not"
        ));
    }
    ok.then_some(volume)
}

/// Records an issue when `volume` is instance-store and `instance_type` has no instance store
/// volumes ([`InstanceType::has_instance_store`]).
pub fn check_instance_type(reader: &mut Reader, instance_type: &InstanceType, volume: &DataVolume) {
    if volume.kind != VolumeType::InstanceStore || instance_type.has_instance_store() {
        return;
    }
    let source = reader
        .setting("EDGE_DATA_VOL_TYPE")
        .expect("has a default")
        .source;
    reader.issue(
        "EDGE_DATA_VOL_TYPE",
        &source,
        format!(
            "instance-store needs an instance type with instance store volumes, and \
             {instance_type} has none"
        ),
        "use an EBS type (gp3, io1, io2), or an instance type with NVMe instance storage such \
         as m6id.large, c6id.large or i4i.large"
            .into(),
    );
}

/// Whether EC2 can recover the instance onto other hardware when its system status check fails
/// (the `RecoveryAlarm`'s `ec2:recover` action): only an instance whose volumes are all EBS; one
/// with instance store volumes, or a data volume on the instance store, cannot be recovered
/// (Amazon EC2 User Guide, "Recover your instance": requirements).
pub fn auto_recovery(instance_type: &InstanceType, volume: &DataVolume) -> bool {
    volume.kind != VolumeType::InstanceStore && !instance_type.has_instance_store()
}

/// The kernel name of the `/data` device, as the CloudWatch agent's `diskio` metrics name it
/// (dimension `name`), for the dashboard. Xen types see the EBS volume attached at `/dev/sdf`
/// as `xvdf` and the first instance store volume as `xvdb`. On Nitro types the EBS root
/// volume is `nvme0n1`; the data device is the next NVMe device, `nvme1n1`, except for an EBS
/// volume next to instance store volumes, which enumerate first: `nvme2n1` (the device names
/// the upstream blueprint's dashboard uses, `lib/constructs/node-cw-dashboard.ts`).
pub fn device_name(instance_type: &InstanceType, kind: VolumeType) -> &'static str {
    match (instance_type.is_xen(), kind) {
        (true, VolumeType::InstanceStore) => "xvdb",
        (true, _) => "xvdf",
        (false, VolumeType::InstanceStore) => "nvme1n1",
        (false, _) if instance_type.has_instance_store() => "nvme2n1",
        (false, _) => "nvme1n1",
    }
}
