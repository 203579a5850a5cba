"""Public-opinion reports (社情民意信息): written by members and liaison points' coordinators."""
