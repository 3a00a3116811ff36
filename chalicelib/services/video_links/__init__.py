"""Agency video links: issue, revoke and export signed, IP-bound links; the live playlist origin; edge audit."""
