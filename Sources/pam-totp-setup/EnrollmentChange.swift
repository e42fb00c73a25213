import Glibc
import TOTPCore
import TOTPStorage

/// What `changeEnrollment` does once the code asked for it (if any) is accepted.
enum EnrollmentChange {
    /// Replaces the enrollment with this one (the same, with new recovery codes).
    case replace(Enrollment)
    case remove
    /// Saves a new enrollment where there is none (create-only). `accepted`: the state the code that
    /// confirmed it would leave (its step), merged into the user's state so that the module refuses
    /// that code afterwards.
    case create(Enrollment, accepted: UserState?)
}

/// How `changeEnrollment` ended.
enum EnrollmentChangeResult {
    case changed
    /// The code was refused (and recorded as a login records it); nothing was changed.
    case refused(AttemptOutcome)
    /// The enrollment is not the one read before any more (another portal session, the tool,
    /// another server changed it), or for `create` one appeared: nothing was changed.
    case enrollmentChanged
}

/// Decides `check` against `expected` (the enrollment read before; nil: there was none) and, if the
/// code is accepted, makes `change`, so that nothing can change the user's enrollment in between:
///
/// - With enrollment files, everything runs under the user's state lock (the module's, taken once:
///   a second flock of the same file on another descriptor would wait for ever): the enrollment is
///   read again and its identifier compared, the code decided and recorded, then the file written
///   or removed.
/// - In the store, whose state lock is a transaction that a write commits, the code is decided under
///   the state row's lock with the enrollment compared, then the change is one transaction that
///   locks the row again and compares the enrollment again before writing (create: inserts only
///   where there is none).
func changeEnrollment(_ target: Target, expected: Enrollment?, check: CodeCheck?, change: EnrollmentChange) throws
    -> EnrollmentChangeResult
{
    if let stored = target.place as? StoredEnrollment {
        if let check, let expected {
            let outcome = try target.withState { locked -> AttemptOutcome? in
                guard try stored.read()?.identifier == expected.identifier else { return nil }
                return try record(check, enrollment: expected, in: locked)
            }
            guard let outcome else { return .enrollmentChanged }
            guard outcome.isSuccess else { return .refused(outcome) }
        }
        let done: Bool
        switch change {
        case .replace(let enrollment): done = try stored.replace(enrollment, expecting: expected?.identifier ?? "")
        case .remove: done = try stored.remove(expecting: expected?.identifier ?? "")
        case .create(let enrollment, let accepted): done = try stored.add(enrollment, state: accepted ?? UserState())
        }
        return done ? .changed : .enrollmentChanged
    }
    return try target.withState { locked in
        if let expected {
            guard let current = try target.place.read(), current.identifier == expected.identifier else { return .enrollmentChanged }
        } else if target.place.isPresent {
            return .enrollmentChanged
        }
        if let check, let expected {
            let outcome = try record(check, enrollment: expected, in: locked)
            guard outcome.isSuccess else { return .refused(outcome) }
        }
        try withSignalsBlocked {
            switch change {
            case .replace(let enrollment): try target.place.write(enrollment)
            case .remove: try target.place.remove()
            case .create(let enrollment, let accepted):
                // The state first: a step recorded for an enrollment that then failed to save refuses nothing.
                if let accepted { try locked.write(try locked.read().merged(with: accepted)) }
                try target.place.write(enrollment)
            }
        }
        return .changed
    }
}

/// Decides `check` with the user's state, under a lock the caller holds, and records the decision
/// (a used step or recovery code, a failure) as a login does.
func record(_ check: CodeCheck, enrollment: Enrollment, in locked: any LockedUserState) throws -> AttemptOutcome {
    let decision = check.decide(enrollment: enrollment, state: try locked.read(), now: Int64(time(nil)))
    if let changed = decision.write { try withSignalsBlocked { try locked.write(changed) } }
    return decision.outcome
}
